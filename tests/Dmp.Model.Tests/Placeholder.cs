namespace Dmp.Model.Tests;
