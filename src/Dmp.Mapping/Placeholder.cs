namespace Dmp.Mapping;
