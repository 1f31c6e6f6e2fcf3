namespace Dmp.Model;
