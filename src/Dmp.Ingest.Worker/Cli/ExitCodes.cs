namespace Dmp.Ingest.Worker.Cli;

/// <summary>Process exit codes, after BSD sysexits, as DESIGN.md fixes them.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The verb ran but something was not accepted (e.g. a NACK to `send`).</summary>
    public const int NotAccepted = 1;
    public const int Usage = 64;
    public const int DataError = 65;
    public const int NoInput = 66;
    /// <summary>A service the gateway needs is not there: the store, a port, a certificate.</summary>
    public const int Unavailable = 69;
    public const int Software = 70;
}
