using System.Security.Cryptography;
using System.Xml.Linq;
using Dmp.Mapping.Cda;
using Dmp.Mapping.Fhir;
using Dmp.Mapping.Fhir.Projection;
using Dmp.Mapping.Rules;
using Dmp.Model;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping;

/// <summary>What a CDA R2 document means in the DMP model: its header, the document record, the body's entries.</summary>
public sealed record CdaMapped(CdaHeader Header, MappedMessage Message, CdaNonXmlBody? NonXmlBody);

/// <summary>A nonXMLBody's inline content (base64 decoded, or the text itself) and its media type.</summary>
public sealed record CdaNonXmlBody(string? MediaType, byte[] Content);

/// <summary>
/// Maps a CDA R2 document into a Bundle: the Patient, the DocumentReference typed by its code (with the body's
/// content for a nonXMLBody, else the CDA itself as text/xml with size and hash), and the entries the document
/// rule's sections give (AllergyIntolerance, MedicationStatement/Request, Condition, Observation, DiagnosticReport,
/// Immunization, Procedure, Encounter), each referencing the Patient.
/// </summary>
public static class CdaMapper
{
    /// <summary>Header-only mapping (no rules: no body entries).</summary>
    public static MapResult Map(ReadOnlyMemory<byte> input) => Map(input, "file", RuleSet.Empty);

    public static MapResult Map(ReadOnlyMemory<byte> input, string channel, RuleSet rules)
    {
        var read = Read(input, channel, rules);
        if (read.Error is { } error)
            return MapResult.Failed(error);
        return MapResult.Mapped(ToBundle(read.Mapped!, input.Span));
    }

    /// <summary>Reads a CDA document into the model: the document (validated when it has a legal authenticator) and its entries.</summary>
    public static (CdaMapped? Mapped, MapError? Error) Read(ReadOnlyMemory<byte> input, string channel, RuleSet rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        System.Xml.Linq.XDocument? document;
        CdaHeader? header;
        using (MappingTracing.Start("parse"))
        {
            if (!SafeXml.TryLoad(input, out document, out var xmlError))
                return (null, xmlError);
            if (!CdaHeaderReader.TryRead(document!, out header, out var error))
                return (null, error);
        }
        using var map = MappingTracing.Start("map");
        var root = document!.Root!;
        var rule = rules.SelectDocument(header!.Type?.Value, header.TemplateIds);
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(input.Span));
        var provenance = new Provenance(channel, header.Id?.Value, "CDA", null, header.Id?.Value);
        var notes = new List<MappingNote>();
        if (rule is null && rules.DocumentRules.Count > 0)
            notes.Add(new MappingNote(NoteSeverity.Information, $"no CDA rule for document code {header.Type?.Value ?? "(none)"}: header only"));

        var nonXml = ReadNonXmlBody(root, notes);
        var classCode = header.Type is { } type && rule?.ClassCodes?.Lookup(type.Value) is { } target ? ParseCode(target) : null;
        var documentRecord = new Document
        {
            UniqueId = header.Id,
            SetId = header.SetId,
            Version = header.Version,
            Replaces = header.Replaces,
            Appends = header.Appends,
            Transforms = header.Transforms,
            TypeCode = header.Type,
            ClassCode = classCode,
            Title = header.Title ?? header.Type?.Display,
            CreatedAt = header.EffectiveTime,
            ServiceStart = header.ServiceStart,
            ServiceStop = header.ServiceStop,
            ServiceEvent = header.ServiceEvent,
            Author = header.Author,
            AuthorOrganisation = header.AuthorOrganisation,
            SourceFacility = header.AuthorOrganisationName,
            Custodian = header.Custodian,
            CustodianName = header.CustodianName,
            LegalAuthenticator = header.LegalAuthenticator,
            Confidentiality = header.Confidentiality,
            Language = header.Language,
            MimeType = "text/xml",
            FormatCode = XdsSdFormat(header),
            Size = input.Length,
            Sha256 = sha256,
            Content = input,
            Action = header.Replaces.Count > 0 ? DocumentAction.Replace : DocumentAction.New,
            Status = DocumentStatus.Current,
            // A legal authenticator validates the document; without one it is held until its validated version arrives.
            ValidatedByAuthor = header.HasLegalAuthenticator,
            Provenance = provenance,
        };

        var body = CdaBodyReader.Read(root, rule, provenance);
        notes.AddRange(body.Notes);
        var encounters = new List<Encounter>();
        if (header.Encounter is { } stay)
        {
            encounters.Add(new Encounter
            {
                Id = stay.Id,
                Class = stay.Code?.System == "2.16.840.1.113883.5.4" ? stay.Code.Value : null,
                Status = stay.End is not null ? "finished" : null,
                Start = stay.Start,
                End = stay.End,
                Location = stay.Location,
                Attending = stay.Responsible,
                Provenance = provenance,
            });
        }
        encounters.AddRange(body.Encounters);
        var message = new MappedMessage
        {
            Info = new MessageInfo { Sender = channel, MessageType = "CDA", ControlId = header.Id?.Value, SentAt = header.EffectiveTime },
            Rule = rule?.Id,
            Patients = header.Patient is { } p ? [p] : [],
            Encounters = encounters,
            Documents = [documentRecord],
            Reports = body.Reports,
            Observations = body.Observations,
            Allergies = body.Allergies,
            Problems = body.Problems,
            Medications = body.Medications,
            Immunizations = body.Immunizations,
            Procedures = body.Procedures,
            Notes = notes,
        };
        return (new CdaMapped(header, message, nonXml), null);
    }

    private static CdaNonXmlBody? ReadNonXmlBody(XElement root, List<MappingNote> notes)
    {
        var text = root.Element(CdaHeaderReader.V3 + "component")?.Element(CdaHeaderReader.V3 + "nonXMLBody")?.Element(CdaHeaderReader.V3 + "text");
        if (text is null)
            return null;
        var mediaType = (string?)text.Attribute("mediaType") ?? "text/plain";
        var inline = string.Concat(text.Nodes().OfType<XText>().Select(t => t.Value));
        if (string.IsNullOrWhiteSpace(inline))
            return null;
        if ((string?)text.Attribute("representation") == "B64")
        {
            var compact = new string(inline.Where(c => !char.IsWhiteSpace(c)).ToArray());
            var buffer = new byte[compact.Length * 3 / 4 + 3];
            if (!Convert.TryFromBase64String(compact, buffer, out var written))
            {
                notes.Add(new MappingNote(NoteSeverity.Warning, "the nonXMLBody is not valid Base64: the CDA itself is kept as the content"));
                return null;
            }
            return new CdaNonXmlBody(mediaType, buffer[..written]);
        }
        return new CdaNonXmlBody(mediaType, System.Text.Encoding.UTF8.GetBytes(inline.Trim()));
    }

    /// <summary>The IHE XDS-SD template (ITI TF-3 5.2): a CDA wrapping a scanned PDF or plain text.</summary>
    private const string XdsSdTemplate = "1.3.6.1.4.1.19376.1.2.20";

    /// <summary>
    /// The XDS formatCode the document itself states: an XDS-SD (its templateId) is `urn:ihe:iti:xds-sd:pdf:2008` when
    /// its nonXMLBody is a PDF and `urn:ihe:iti:xds-sd:text:2008` when it is plain text (ITI TF-3 5.2); null otherwise,
    /// as no other CDA header nor CI-SIS message carries one.
    /// </summary>
    internal static string? XdsSdFormat(CdaHeader header) =>
        !header.TemplateIds.Contains(XdsSdTemplate) ? null : header.NonXmlMediaType switch
        {
            "application/pdf" => "urn:ihe:iti:xds-sd:pdf:2008",
            "text/plain" => "urn:ihe:iti:xds-sd:text:2008",
            _ => null,
        };

    /// <summary>A table target `code^display` (or `code^display^system`) as a code; the DMP class codes by default.</summary>
    internal static Code ParseCode(string target)
    {
        var parts = target.Split('^');
        return new Code(parts[0], parts.Length > 2 && parts[2].Length > 0 ? parts[2] : "1.2.250.1.213.1.1.4.1", parts.Length > 1 && parts[1].Length > 0 ? parts[1] : null);
    }

    public static F.Bundle ToBundle(CdaMapped mapped, ReadOnlySpan<byte> input)
    {
        var header = mapped.Header;
        var m = mapped.Message;
        var d = m.Documents[0];
        var bundle = new F.Bundle { Type = F.Bundle.BundleType.Collection };
        F.ResourceReference? subject = null;
        if (m.Patients.FirstOrDefault() is { } patient)
        {
            var key = patient.Ins ?? patient.LocalIdentifiers.FirstOrDefault();
            var resource = PatientProjection.ToFhir(patient, DeterministicId.From("Patient", key?.System, key?.Value ?? header.Id?.Value));
            bundle.Entry.Add(new F.Bundle.EntryComponent { FullUrl = "urn:uuid:" + resource.Id, Resource = resource });
            subject = new F.ResourceReference("urn:uuid:" + resource.Id);
        }

        var bundleAt = bundle.Entry.Count;
        IReadOnlyList<F.ResourceReference> encounters = [];
        if (subject is not null)
        {
            var key = $"{header.Id?.System}|{header.Id?.Value}|{Convert.ToHexString(SHA256.HashData(input))}";
            encounters = BundleWriter.AppendDocumentEntries(bundle, m, subject, key);
        }
        var reference = DocumentReferenceProjection.FromCda(d, header.Title, mapped.NonXmlBody, input,
            DeterministicId.From("DocumentReference", header.Id?.System, header.Id?.Value, Convert.ToHexString(SHA256.HashData(input))),
            subject, encounters, firstIsStay: header.Encounter is not null);
        bundle.Entry.Insert(bundleAt, new F.Bundle.EntryComponent { FullUrl = "urn:uuid:" + reference.Id, Resource = reference });

        var issues = m.Notes.Select(NoteIssues.Issue).ToList();
        if (subject is null && m.Allergies.Count + m.Problems.Count + m.Medications.Count + m.Immunizations.Count + m.Procedures.Count + m.Observations.Count + m.Reports.Count > 0)
            issues.Add(NoteIssues.Issue(new MappingNote(NoteSeverity.Warning, "clinical entries without a patient (no recordTarget) were not written")));
        if (issues.Count > 0)
        {
            var outcome = new F.OperationOutcome { Issue = issues };
            outcome.Id = DeterministicId.From("OperationOutcome", reference.Id, string.Join('|', issues.Select(i => i.Diagnostics)));
            bundle.Entry.Add(new F.Bundle.EntryComponent { FullUrl = "urn:uuid:" + outcome.Id, Resource = outcome });
        }
        return bundle;
    }
}
