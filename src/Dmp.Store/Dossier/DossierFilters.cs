using Dmp.Model;

namespace Dmp.Store.Dossier;

/// <summary>
/// Which documents a caller may see in a dossier they may read (decided by the API's access policy):
/// deleted ones never; masked ones when <see cref="IncludeMasked"/>, or those <see cref="MaskedAuthorRpps"/> wrote;
/// for the patient (<see cref="PatientView"/>), hidden ones once unhidden, stored before <see cref="HiddenStoredBefore"/>,
/// or past their own <c>hidden_until</c>.
/// </summary>
public sealed record CallerView
{
    public bool IncludeMasked { get; init; }
    public string? MaskedAuthorRpps { get; init; }
    public bool PatientView { get; init; }
    public DateTimeOffset HiddenStoredBefore { get; init; }
    public DateTimeOffset Now { get; init; }
}

/// <summary>A code to match, with the spellings of its system that count (none: any system).</summary>
public sealed record CodeMatch(string Code, IReadOnlyList<string>? Systems = null);

public enum TimeComparison { Before, NotAfter, After, NotBefore }

/// <summary>One side of a time range: the column compared with an instant.</summary>
public sealed record TimeBound(TimeComparison Comparison, DateTimeOffset Value)
{
    public bool IsLower => Comparison is TimeComparison.After or TimeComparison.NotBefore;
}

/// <summary>
/// A document search. Each list of groups is one parameter given several times (ANDed); the values
/// inside a group are alternatives (ORed), as FHIR's comma.
/// </summary>
public sealed record DocumentFilter
{
    public long PatientId { get; init; }
    public IReadOnlyList<string> Statuses { get; init; } = [DocumentStatuses.Current];
    public IReadOnlyList<IReadOnlyList<CodeMatch>> Types { get; init; } = [];
    public IReadOnlyList<IReadOnlyList<CodeMatch>> Categories { get; init; } = [];
    public IReadOnlyList<IReadOnlyList<CodeMatch>> Formats { get; init; } = [];
    public IReadOnlyList<IReadOnlyList<CodeMatch>> Facilities { get; init; } = [];
    public IReadOnlyList<IReadOnlyList<CodeMatch>> Settings { get; init; } = [];
    public IReadOnlyList<IReadOnlyList<CodeMatch>> Events { get; init; } = [];
    public IReadOnlyList<IReadOnlyList<CodeMatch>> UniqueIds { get; init; } = [];
    /// <summary>Confidentiality codes, or <see cref="VisibilityCodes.MaskedToProfessionals"/> / <see cref="VisibilityCodes.HiddenFromPatient"/>.</summary>
    public IReadOnlyList<IReadOnlyList<string>> SecurityLabels { get; init; } = [];
    public IReadOnlyList<IReadOnlyList<string>> AuthorGiven { get; init; } = [];
    public IReadOnlyList<IReadOnlyList<string>> AuthorFamily { get; init; } = [];
    /// <summary>Documents that replace, or were replaced by, one of these documents.</summary>
    public IReadOnlyList<IReadOnlyList<long>> RelatedTo { get; init; } = [];
    /// <summary>On the sort key: the creation time, else the storage time.</summary>
    public IReadOnlyList<TimeBound> Date { get; init; } = [];
    public IReadOnlyList<TimeBound> Creation { get; init; } = [];
    /// <summary>Overlap with the service period.</summary>
    public IReadOnlyList<TimeBound> Period { get; init; } = [];
}

/// <summary>An entry search: kinds (FHIR resource types), codes, and bounds on the effective time (else the recording time).</summary>
public sealed record EntryFilter
{
    public long PatientId { get; init; }
    public IReadOnlyList<string> Kinds { get; init; } = [];
    public IReadOnlyList<IReadOnlyList<CodeMatch>> Codes { get; init; } = [];
    public IReadOnlyList<TimeBound> Date { get; init; } = [];
}

/// <summary>Where a page continues: the last row's sort key and id.</summary>
public sealed record PageKey(string SortKey, long Id);

/// <summary>A page to read: its size, the order, and where the previous page ended.</summary>
public sealed record PageRequest(int Limit, bool Ascending = false, PageKey? After = null);

/// <summary>A page of rows, and where the next one starts (null on the last page).</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, PageKey? Next);
