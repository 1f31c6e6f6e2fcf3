namespace Dmp.Ingest.Worker.Tests;
