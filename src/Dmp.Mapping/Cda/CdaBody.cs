using System.Globalization;
using System.Xml.Linq;
using Dmp.Mapping.Rules;
using Dmp.Model;

namespace Dmp.Mapping.Cda;

/// <summary>What a CDA structured body holds, as model records, with notes on what no section rule covered.</summary>
public sealed record CdaBody
{
    public List<Allergy> Allergies { get; } = [];
    public List<Medication> Medications { get; } = [];
    public List<Problem> Problems { get; } = [];
    public List<Observation> Observations { get; } = [];
    public List<DiagnosticReport> Reports { get; } = [];
    public List<Immunization> Immunizations { get; } = [];
    public List<Procedure> Procedures { get; } = [];
    public List<Encounter> Encounters { get; } = [];
    public List<MappingNote> Notes { get; } = [];
}

/// <summary>
/// Reads the entries of a CDA R2 structured body. The rule says which sections (by templateId, else LOINC section
/// code) hold which kind of entries; this reader knows how each kind of clinical statement is written (C-CDA, IHE
/// PCC and CI-SIS share the CDA R2 act/observation/substanceAdministration shapes). Missing pieces give null
/// fields, never errors.
/// </summary>
public static class CdaBodyReader
{
    private static readonly XNamespace V3 = CdaHeaderReader.V3;
    private static readonly XNamespace Xsi = "http://www.w3.org/2001/XMLSchema-instance";

    /// <summary>Allergy and intolerance observation templates (C-CDA, IHE PCC / CI-SIS).</summary>
    private static readonly HashSet<string> AllergyObservationTemplates = new(StringComparer.Ordinal)
    {
        "2.16.840.1.113883.10.20.22.4.7", "1.3.6.1.4.1.19376.1.5.3.1.4.6",
    };

    public static CdaBody Read(XElement root, CdaDocumentRule? rule, Provenance provenance)
    {
        var body = new CdaBody();
        var structured = root.Element(V3 + "component")?.Element(V3 + "structuredBody");
        if (structured is null)
            return body;
        var reader = new Reader(root, provenance);
        foreach (var section in structured.Descendants(V3 + "section"))
        {
            var entries = section.Elements(V3 + "entry").ToList();
            if (entries.Count == 0)
                continue;
            var templateIds = TemplateIds(section);
            var code = (string?)section.Element(V3 + "code")?.Attribute("code");
            var sectionRule = rule?.Section(templateIds, code);
            if (sectionRule is null)
            {
                var title = CdaHeaderReader.Text(section.Element(V3 + "title"));
                body.Notes.Add(new MappingNote(NoteSeverity.Information,
                    $"section {code ?? "(no code)"}{(title is null ? "" : $" '{title}'")} with {entries.Count} entr{(entries.Count == 1 ? "y" : "ies")}: no section rule{(rule is null ? "" : $" in {rule.Id}")} maps it (narrative kept in the document)"));
                continue;
            }
            foreach (var entry in entries)
            {
                if (entry.Elements().FirstOrDefault(e => e.Name.Namespace == V3 && e.Name.LocalName is not ("templateId" or "id")) is not { } statement)
                    continue;
                reader.Read(sectionRule, rule!, section, statement, body);
            }
        }
        return body;
    }

    internal static List<string> TemplateIds(XElement element) =>
        element.Elements(V3 + "templateId").Select(t => (string?)t.Attribute("root")).OfType<string>().ToList();

    private sealed class Reader(XElement document, Provenance provenance)
    {
        private Dictionary<string, string>? _narrative;

        public void Read(CdaSectionRule section, CdaDocumentRule rule, XElement sectionElement, XElement statement, CdaBody body)
        {
            switch (section.Entries)
            {
                case CdaEntryKind.Allergies:
                    ReadAllergies(statement, rule, body);
                    break;
                case CdaEntryKind.Problems:
                case CdaEntryKind.History:
                    ReadProblems(statement, section.Entries == CdaEntryKind.History ? ProblemKind.History : ProblemKind.Problem, body);
                    break;
                case CdaEntryKind.Medications:
                    foreach (var sa in Statements(statement, "substanceAdministration"))
                    {
                        if (ReadMedication(sa) is { } m)
                            body.Medications.Add(m);
                    }
                    break;
                case CdaEntryKind.Immunizations:
                    foreach (var sa in Statements(statement, "substanceAdministration"))
                        body.Immunizations.Add(ReadImmunization(sa));
                    break;
                case CdaEntryKind.Procedures:
                    if (statement.Name.LocalName is "procedure" or "act" or "observation" && IsEvent(statement) && !Negated(statement))
                        body.Procedures.Add(ReadProcedure(statement));
                    break;
                case CdaEntryKind.Encounters:
                    foreach (var encounter in Statements(statement, "encounter"))
                        body.Encounters.Add(ReadEncounter(encounter));
                    break;
                case CdaEntryKind.Results:
                case CdaEntryKind.VitalSigns:
                    ReadResults(statement, section, sectionElement, body);
                    break;
            }
        }

        private void ReadResults(XElement statement, CdaSectionRule section, XElement sectionElement, CdaBody body)
        {
            // `category: none` leaves it out (a coded summary is neither laboratory nor vital signs).
            var category = section.Category switch
            {
                "none" => null,
                null => section.Entries == CdaEntryKind.VitalSigns ? "vital-signs" : "laboratory",
                var named => named,
            };
            var fallback = Date(statement);
            var results = statement.DescendantsAndSelf(V3 + "observation")
                .Where(o => o.Element(V3 + "value") is not null && (string?)o.Attribute("moodCode") is null or "EVN" && !o.Ancestors(V3 + "referenceRange").Any())
                .Select(o => ReadObservation(o, category, fallback))
                .ToList();
            if (results.Count == 0)
                return;
            if (!section.Report)
            {
                body.Observations.AddRange(results);
                return;
            }
            body.Reports.Add(new DiagnosticReport
            {
                Id = CdaHeaderReader.Ii(statement.Element(V3 + "id")),
                Code = CodeOf(statement.Element(V3 + "code")) ?? CodeOf(sectionElement.Element(V3 + "code")),
                Status = Status(statement) ?? "final",
                EffectiveAt = fallback ?? results.Select(r => r.EffectiveAt).FirstOrDefault(d => d is not null),
                Results = results,
                Provenance = provenance,
            });
        }

        private Observation ReadObservation(XElement o, string? category, PartialDateTime? fallback)
        {
            var value = o.Element(V3 + "value")!;
            var (parsed, unit, valueType) = Value(value);
            ReferenceRange? range = null;
            if (o.Element(V3 + "referenceRange")?.Element(V3 + "observationRange") is { } observationRange)
            {
                var rangeValue = observationRange.Element(V3 + "value");
                var low = Number(rangeValue?.Element(V3 + "low"));
                var high = Number(rangeValue?.Element(V3 + "high"));
                var rangeUnit = (string?)rangeValue?.Element(V3 + "low")?.Attribute("unit") ?? (string?)rangeValue?.Element(V3 + "high")?.Attribute("unit");
                var text = CdaHeaderReader.Text(observationRange.Element(V3 + "text")) is { } t && !t.StartsWith('#') ? t : null;
                text ??= low is null && high is null ? null
                    : $"{Invariant(low)}-{Invariant(high)}{(string.IsNullOrEmpty(rangeUnit) ? "" : " " + rangeUnit)}".Trim('-');
                if (text is not null)
                    range = new ReferenceRange(text, low, high);
            }
            return new Observation
            {
                Code = CodeOf(o.Element(V3 + "code")),
                ValueType = valueType,
                Value = parsed,
                Unit = unit,
                Range = range,
                Interpretation = o.Elements(V3 + "interpretationCode").Select(i => (string?)i.Attribute("code")).OfType<string>().ToList(),
                Status = Status(o) ?? "final",
                EffectiveAt = Date(o) ?? fallback,
                Category = category,
                Provenance = provenance,
            };
        }

        private (ObservationValue? Value, Code? Unit, string? Type) Value(XElement value)
        {
            var type = (string?)value.Attribute(Xsi + "type");
            if (type is not null && type.IndexOf(':', StringComparison.Ordinal) is var colon and >= 0)
                type = type[(colon + 1)..];
            Code? Unit(XElement? e) => (string?)e?.Attribute("unit") is { Length: > 0 } u && u != "1" ? new Code(u, "2.16.840.1.113883.6.8") : null;
            switch (type)
            {
                case "PQ" or "INT" or "REAL":
                    return (Number(value) is { } number ? new ObservationValue { Number = number } : null, Unit(value), type);
                case "IVL_PQ":
                {
                    var low = Number(value.Element(V3 + "low"));
                    var high = Number(value.Element(V3 + "high"));
                    var unit = Unit(value.Element(V3 + "low")) ?? Unit(value.Element(V3 + "high"));
                    if (low is not null && high is not null)
                        return (new ObservationValue { Number = low, Number2 = high, Separator = "-" }, unit, type);
                    if (low is not null)
                        return (new ObservationValue { Number = low, Comparator = ">=" }, unit, type);
                    return (high is null ? null : new ObservationValue { Number = high, Comparator = "<=" }, unit, type);
                }
                case "RTO" or "RTO_PQ_PQ" or "RTO_INT_INT":
                {
                    var n = Number(value.Element(V3 + "numerator"));
                    var d = Number(value.Element(V3 + "denominator"));
                    return (n is null || d is null ? null : new ObservationValue { Number = n, Number2 = d, Separator = "/" }, null, type);
                }
                case "CD" or "CE" or "CV" or "CO" or "CS":
                    return (CodeOf(value) is { } c ? new ObservationValue { Coded = c } : null, null, type);
                case "TS":
                    return (CdaHeaderReader.Ts(value) is { } ts ? new ObservationValue { Date = ts } : null, null, type);
                case "BL":
                    return ((string?)value.Attribute("value") is { } b ? new ObservationValue { Text = b } : null, null, type);
                default:
                {
                    var text = NarrativeText(value);
                    return (text is null ? null : new ObservationValue { Text = text }, null, type);
                }
            }
        }

        private void ReadAllergies(XElement statement, CdaDocumentRule rule, CdaBody body)
        {
            var observations = statement.DescendantsAndSelf(V3 + "observation").Where(o => TemplateIds(o).Any(AllergyObservationTemplates.Contains)).ToList();
            if (observations.Count == 0)
                observations = Primary(statement);
            foreach (var o in observations)
            {
                if (Negated(o))
                    continue;
                var playing = o.Elements(V3 + "participant").FirstOrDefault(p => (string?)p.Attribute("typeCode") == "CSM")
                    ?.Element(V3 + "participantRole")?.Element(V3 + "playingEntity");
                // The intolerance type is the value in C-CDA, the observation's code in IHE PCC and CI-SIS.
                var valueCode = (string?)o.Element(V3 + "value")?.Attribute("code");
                var observationCode = (string?)o.Element(V3 + "code")?.Attribute("code");
                string? target = null;
                var typed = rule.AllergyCategory is { } table && (table.TryLookup(valueCode, out target) || table.TryLookup(observationCode, out target));
                var substance = CodeOf(playing?.Element(V3 + "code")) ?? (CdaHeaderReader.Text(playing?.Element(V3 + "name")) is { } name ? new Code("", null, name) : null);
                substance ??= CodeOf(o.Element(V3 + "value"));
                if (substance is null && typed && observationCode is not null)
                    substance = CodeOf(o.Element(V3 + "code"));
                var classified = typed ? target!.Split(' ', StringSplitOptions.RemoveEmptyEntries) : [];
                var reaction = o.Elements(V3 + "entryRelationship")
                    .Where(r => (string?)r.Attribute("typeCode") == "MFST")
                    .Select(r => CodeOf(r.Element(V3 + "observation")?.Element(V3 + "value")))
                    .FirstOrDefault(c => c is not null);
                body.Allergies.Add(new Allergy
                {
                    Substance = substance,
                    Category = classified.Length > 0 && classified[0] != "-" ? classified[0] : null,
                    Type = classified.Length > 1 ? classified[1] : null,
                    Reaction = reaction is null ? null : string.IsNullOrEmpty(reaction.Display) ? reaction.Value : reaction.Display,
                    IdentifiedAt = Date(o),
                    Provenance = provenance,
                });
            }
        }

        private void ReadProblems(XElement statement, ProblemKind kind, CdaBody body)
        {
            foreach (var o in Primary(statement))
            {
                if (Negated(o))
                    continue;
                var code = CodeOf(o.Element(V3 + "value"));
                if (code is null)
                    continue;
                var (onset, _) = CdaHeaderReader.Period(o.Element(V3 + "effectiveTime"));
                body.Problems.Add(new Problem
                {
                    Kind = kind,
                    Code = code,
                    OnsetAt = onset,
                    RecordedAt = CdaHeaderReader.Ts(o.Element(V3 + "author")?.Element(V3 + "time")),
                    Provenance = provenance,
                });
            }
        }

        private Medication? ReadMedication(XElement sa)
        {
            if (Negated(sa))
                return null;
            var material = sa.Element(V3 + "consumable")?.Element(V3 + "manufacturedProduct")?.Element(V3 + "manufacturedMaterial");
            var drug = CodeOf(material?.Element(V3 + "code")) ?? (CdaHeaderReader.Text(material?.Element(V3 + "name")) is { } name ? new Code("", null, name) : null);
            var dose = sa.Element(V3 + "doseQuantity");
            var doseText = Number(dose) is { } d ? $"{Invariant(d)}{((string?)dose!.Attribute("unit") is { Length: > 0 } u && u != "1" ? " " + u : "")}" : null;
            return new Medication
            {
                Kind = (string?)sa.Attribute("moodCode") == "INT" ? MedicationKind.Prescribed : MedicationKind.Reported,
                Drug = drug,
                DosageText = NarrativeText(sa.Element(V3 + "text")) ?? doseText,
                Route = CodeOf(sa.Element(V3 + "routeCode")),
                At = Date(sa),
                Prescriber = CdaHeaderReader.Person(sa.Element(V3 + "author")?.Element(V3 + "assignedAuthor"), "prescriber"),
                Provenance = provenance,
            };
        }

        private Immunization ReadImmunization(XElement sa)
        {
            var material = sa.Element(V3 + "consumable")?.Element(V3 + "manufacturedProduct")?.Element(V3 + "manufacturedMaterial");
            var dose = sa.Element(V3 + "doseQuantity");
            return new Immunization
            {
                Vaccine = CodeOf(material?.Element(V3 + "code")) ?? (CdaHeaderReader.Text(material?.Element(V3 + "name")) is { } name ? new Code("", null, name) : null),
                OccurredAt = Date(sa),
                LotNumber = CdaHeaderReader.Text(material?.Element(V3 + "lotNumberText")),
                Dose = Number(dose),
                DoseUnit = (string?)dose?.Attribute("unit") is { Length: > 0 } u && u != "1" ? u : null,
                Status = Negated(sa) ? "not-done" : (string?)sa.Element(V3 + "statusCode")?.Attribute("code") == "nullified" ? "entered-in-error" : "completed",
                Provenance = provenance,
            };
        }

        private Procedure ReadProcedure(XElement p) => new()
        {
            Code = CodeOf(p.Element(V3 + "code")),
            PerformedAt = Date(p),
            Performer = CdaHeaderReader.Person(p.Element(V3 + "performer")?.Element(V3 + "assignedEntity"), "performer"),
            Provenance = provenance,
        };

        private Encounter ReadEncounter(XElement e)
        {
            var (start, end) = CdaHeaderReader.Period(e.Element(V3 + "effectiveTime"));
            var code = CdaHeaderReader.Cd(e.Element(V3 + "code"));
            var location = e.Elements(V3 + "participant").FirstOrDefault(p => (string?)p.Attribute("typeCode") == "LOC")?.Element(V3 + "participantRole");
            return new Encounter
            {
                Id = CdaHeaderReader.Ii(e.Element(V3 + "id")),
                Class = code?.System == "2.16.840.1.113883.5.4" ? code.Value : null,
                Status = end is not null ? "finished" : null,
                Start = start,
                End = end,
                Location = CdaHeaderReader.Text(location?.Element(V3 + "playingEntity")?.Element(V3 + "name")) ?? CodeOf(location?.Element(V3 + "code"))?.Display,
                Attending = CdaHeaderReader.Person(e.Element(V3 + "performer")?.Element(V3 + "assignedEntity"), "attending"),
                Provenance = provenance,
            };
        }

        /// <summary>The statement itself, or, for a concern act, the observations it groups (one level down).</summary>
        private static List<XElement> Primary(XElement statement) =>
            statement.Name.LocalName == "observation"
                ? [statement]
                : statement.Elements(V3 + "entryRelationship").Select(r => r.Element(V3 + "observation")).OfType<XElement>().ToList();

        /// <summary>Elements of one kind: the statement itself, else the outermost ones below it.</summary>
        private static IEnumerable<XElement> Statements(XElement statement, string localName) =>
            statement.Name.LocalName == localName
                ? [statement]
                : statement.Descendants(V3 + localName).Where(e => !e.Ancestors(V3 + localName).Any(a => a.AncestorsAndSelf().Contains(statement)));

        private static bool Negated(XElement e) => (string?)e.Attribute("negationInd") == "true";

        private static bool IsEvent(XElement e) => (string?)e.Attribute("moodCode") is null or "EVN";

        private static string? Status(XElement e) => (string?)e.Element(V3 + "statusCode")?.Attribute("code") switch
        {
            "completed" => "final",
            "active" => "preliminary",
            "aborted" or "cancelled" => "cancelled",
            "nullified" => "entered-in-error",
            _ => null,
        };

        private static PartialDateTime? Date(XElement e)
        {
            foreach (var time in e.Elements(V3 + "effectiveTime"))
            {
                var (start, end) = CdaHeaderReader.Period(time);
                if ((start ?? end) is { } found)
                    return found;
            }
            return null;
        }

        private static decimal? Number(XElement? e) =>
            decimal.TryParse((string?)e?.Attribute("value"), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;

        private static string Invariant(decimal? d) => d?.ToString(CultureInfo.InvariantCulture) ?? "";

        /// <summary>A code (CD): the code, else a coded translation, else its text (displayName, originalText or the narrative it points to).</summary>
        public Code? CodeOf(XElement? element)
        {
            if (element is null)
                return null;
            var text = (string?)element.Attribute("displayName") is { Length: > 0 } display ? display : NarrativeText(element.Element(V3 + "originalText"));
            if ((string?)element.Attribute("code") is { Length: > 0 } code)
                return new Code(code, (string?)element.Attribute("codeSystem"), text);
            foreach (var translation in element.Elements(V3 + "translation"))
            {
                if ((string?)translation.Attribute("code") is { Length: > 0 } t)
                    return new Code(t, (string?)translation.Attribute("codeSystem"), (string?)translation.Attribute("displayName") ?? text);
            }
            return text is null ? null : new Code("", null, text);
        }

        /// <summary>The text of an element, or of the narrative its `reference value="#id"` points to.</summary>
        private string? NarrativeText(XElement? element)
        {
            if (element is null)
                return null;
            if ((string?)element.Element(V3 + "reference")?.Attribute("value") is { Length: > 1 } target && target[0] == '#')
            {
                _narrative ??= document.Descendants()
                    .Select(e => (Id: (string?)e.Attribute("ID"), Element: e))
                    .Where(p => p.Id is not null)
                    .GroupBy(p => p.Id!, StringComparer.Ordinal)
                    .ToDictionary(g => g.Key, g => Collapse(g.First().Element.Value), StringComparer.Ordinal);
                if (_narrative.TryGetValue(target[1..], out var found) && found.Length > 0)
                    return found;
            }
            var own = Collapse(string.Concat(element.Nodes().OfType<XText>().Select(t => t.Value)));
            return own.Length > 0 ? own : null;
        }

        private static string Collapse(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
    }
}
