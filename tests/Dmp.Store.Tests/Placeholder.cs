namespace Dmp.Store.Tests;
