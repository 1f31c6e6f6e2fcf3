namespace Dmp.Mapping.Tests;
