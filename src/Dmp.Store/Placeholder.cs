namespace Dmp.Store;
