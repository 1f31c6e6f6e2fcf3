using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Fhir;

/// <summary>The dossier API's access settings (`Dmp:Access:*`).</summary>
public sealed class AccessOptions
{
    public const string Section = "Dmp:Access";

    /// <summary>
    /// How long a document flagged invisible to the patient (INVISIBLE_PATIENT) stays hidden from them
    /// after it was stored, unless a professional unhides it first (the regulation's one month).
    /// </summary>
    public int PatientHiddenDays { get; set; } = 30;
}

/// <summary>Names the setting and the fix when the access settings are wrong.</summary>
public sealed class AccessOptionsValidator : IValidateOptions<AccessOptions>
{
    public ValidateOptionsResult Validate(string? name, AccessOptions options) =>
        options.PatientHiddenDays is < 0 or > 3650
            ? ValidateOptionsResult.Fail($"Dmp:Access:PatientHiddenDays is {options.PatientHiddenDays}: use a number of days from 0 to 3650 (default 30)")
            : ValidateOptionsResult.Success;
}
