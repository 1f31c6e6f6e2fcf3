namespace Dmp.Ingest.Worker.Auth;

/// <summary>The claims and roles of a dmp-ingest token.</summary>
public static class DmpClaims
{
    public const string Role = "role";
    public const string Ins = "ins";
    public const string Rpps = "rpps";
    public const string Org = "org";
    public const string Subject = "sub";

    public const string Patient = "patient";
    public const string Professional = "professional";
    public const string Operator = "operator";

    public const string OperatorPolicy = "operator";
}
