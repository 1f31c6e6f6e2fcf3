using System.Security.Cryptography;
using Dmp.Mapping.Cda;
using Dmp.Model;

namespace Dmp.Mapping.Rules;

/// <summary>
/// Builds a <see cref="Document"/> from a rule's document fields and the content the OBX carries: a CDA gives its
/// header (id, type, title, parent), a PDF or a placeholder is kept with a warning on the message.
/// </summary>
internal static class EmbeddedDocuments
{
    public static object? Build(RecordInput s)
    {
        var run = s.Run;
        byte[] bytes = [];
        string? declaredType = null;
        if (s.Element(13) is { } element)
        {
            var ed = element.GetRepetition(1).AsEd();
            declaredType = ed.DataSubtype;
            if (string.Equals(ed.Encoding, "Base64", StringComparison.OrdinalIgnoreCase))
            {
                if (!ed.TryDecodeBase64(out bytes))
                {
                    run.Fail(new MapError("the document in OBX-5 is not valid Base64", s.SegmentIndex + 1, "OBX", 5));
                    return null;
                }
            }
            else
            {
                bytes = System.Text.Encoding.UTF8.GetBytes(ed.Data);
            }
        }

        CdaHeader? header = null;
        Code? headerClass = null;
        string mime;
        if (InboundMapper.LooksLikeXml(bytes))
        {
            mime = "text/xml";
            // XML the safe reader refuses (a DOCTYPE, entity tricks, not well-formed, over the size cap) is no document to
            // publish: the message fails with the reason instead of its bytes being kept and served as text/xml.
            if (!SafeXml.TryLoad(bytes, out var xml, out var xmlError))
            {
                run.Fail(Unreadable(xmlError!, s.SegmentIndex));
                return null;
            }
            if (CdaHeaderReader.TryRead(xml!, out var h, out xmlError))
            {
                header = h;
                // The same reader as a CDA file: its entries join the message's records.
                var documentRule = s.Run.Rules?.SelectDocument(h!.Type?.Value, h.TemplateIds);
                var body = CdaBodyReader.Read(xml!.Root!, documentRule, s.Run.Provenance with { DocumentId = h!.Id?.Value });
                // The class code a CDA file gets from its document rule's table, so the same document has one class on every channel.
                headerClass = h.Type is { } cdaType && documentRule?.ClassCodes?.Lookup(cdaType.Value) is { } target ? CdaMapper.ParseCode(target) : null;
                s.Run.Allergies.AddRange(body.Allergies);
                s.Run.Medications.AddRange(body.Medications);
                s.Run.Problems.AddRange(body.Problems);
                s.Run.Observations.AddRange(body.Observations);
                s.Run.Reports.AddRange(body.Reports);
                s.Run.Immunizations.AddRange(body.Immunizations);
                s.Run.Procedures.AddRange(body.Procedures);
                s.Run.Encounters.AddRange(body.Encounters);
                s.Run.Notes.AddRange(body.Notes);
            }
            else
                run.Warn($"the document in OBX-5 (segment {s.SegmentIndex + 1}) is XML but not a readable CDA: {xmlError?.Reason}");
        }
        else if (bytes.AsSpan().StartsWith("%PDF"u8))
        {
            mime = "application/pdf";
            run.Warn($"the document in OBX-5 (segment {s.SegmentIndex + 1}) is a PDF, not a CDA: kept with the message's metadata");
        }
        else
        {
            mime = string.Equals(declaredType, "PDF", StringComparison.OrdinalIgnoreCase) ? "application/pdf" : "text/plain";
            run.Warn(bytes.Length == 0
                ? $"the document OBX (segment {s.SegmentIndex + 1}) carries no content"
                : $"the document in OBX-5 (segment {s.SegmentIndex + 1}) is not a CDA (placeholder text?): kept with the message's metadata");
        }

        var uniqueId = s.Id(0);
        if (header?.Id is { } cdaId)
        {
            if (uniqueId is not null && !SameId(uniqueId, cdaId))
                run.Warn($"TXA-12 ({uniqueId.System}^{uniqueId.Value}) differs from the CDA id ({cdaId.System}^{cdaId.Value}): the CDA id is kept");
            uniqueId = cdaId;
        }
        if (uniqueId is null)
            run.Warn($"the document in segment {s.SegmentIndex + 1} has no unique id (no TXA-12, no CDA id)");

        var replaces = new List<Identifier>();
        if (s.Id(3) is { } parent)
            replaces.Add(parent);
        if (header is not null)
        {
            foreach (var p in header.Replaces)
            {
                if (!replaces.Exists(r => SameId(r, p)))
                    replaces.Add(p);
            }
        }

        var action = s.Text(14) switch { "replace" => DocumentAction.Replace, "delete" => DocumentAction.Delete, _ => DocumentAction.New };
        if (action == DocumentAction.Replace && replaces.Count == 0)
            run.Warn("a replacement document names no parent (TXA-13 or the CDA's relatedDocument)");

        var flags = s.Map(15);
        var type = s.Code(4) ?? header?.Type;
        return new Document
        {
            UniqueId = uniqueId,
            SetId = s.Id(1) ?? header?.SetId,
            Version = s.Integer(2) ?? header?.Version,
            Replaces = replaces,
            TypeCode = type,
            ClassCode = s.Code(5) ?? headerClass,
            Title = s.Text(6) ?? header?.Title ?? type?.Display,
            CreatedAt = s.Date(7) ?? header?.EffectiveTime,
            // CI-SIS messages carry no service period nor facility: the CDA header's (documentationOf/serviceEvent, the
            // author's organisation name) as a CDA file gives them.
            ServiceStart = s.Date(8) ?? header?.ServiceStart,
            ServiceStop = s.Date(9) ?? header?.ServiceStop,
            // PRT (SB) when the message has one; else the CDA's own author (CI-SIS 1.2 messages carry no PRT), as the other
            // fields fall back to the CDA header: without it the author could not see a masked document they wrote.
            Author = s.Person(10) ?? header?.Author,
            AuthorOrganisation = s.Id(11) ?? header?.AuthorOrganisation,
            Confidentiality = s.Code(12) ?? header?.Confidentiality,
            Language = header?.Language,
            Visibility = new DocumentVisibility
            {
                MaskedToProfessionals = Flag(flags, "MASQUE_PS"),
                HiddenFromPatient = Flag(flags, "INVISIBLE_PATIENT"),
                HiddenFromLegalRepresentatives = Flag(flags, "INVISIBLE_REP_LEGAUX"),
                SecretConnection = Flag(flags, "CONNEXION_SECRETE"),
                ChangesConfidentiality = Flag(flags, "MODIF_CONF_CODE"),
            },
            Routing = new DocumentRouting
            {
                ToDmp = Flag(flags, "DESTDMP"),
                ToProfessionalMailbox = Flag(flags, "DESTMSSANTEPS"),
                ToPatientMailbox = Flag(flags, "DESTMSSANTEPAT"),
                AskReceptionAck = Flag(flags, "ACK_RECEPTION"),
                AskReadAck = Flag(flags, "ACK_LECTURE_MSS"),
            },
            MimeType = mime,
            FormatCode = header is null ? null : CdaMapper.XdsSdFormat(header),
            Size = bytes.Length,
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)),
            Content = bytes,
            Action = action,
            Status = action == DocumentAction.Delete ? DocumentStatus.Deleted : DocumentStatus.Current,
            // TXA-17 when the message has one (MDM), else the CDA's legal authenticator, else the document OBX-11 `F`
            // (CI-SIS ORU: the document is final, i.e. validated).
            ValidatedByAuthor = s.Flag(16) ?? TrueOrNull(header?.HasLegalAuthenticator == true) ?? Obx11Validated(Obx11(s)),
            SourceFacility = s.Text(17) ?? header?.AuthorOrganisationName,
            Provenance = run.Provenance with { DocumentId = uniqueId?.Value },
        };
    }

    /// <summary>Why the document of an OBX cannot be read, positioned on that OBX-5 (the position inside the XML goes in the reason).</summary>
    internal static MapError Unreadable(MapError xmlError, int segmentIndex) =>
        new($"the document in OBX-5 is XML the safe reader refuses, so it is not published: {xmlError.Reason} (line {xmlError.Line}, position {xmlError.Column} of the document)",
            segmentIndex + 1, "OBX", 5);

    private static bool? TrueOrNull(bool value) => value ? true : null;

    /// <summary>
    /// OBX-11 of the document row: F (final), C (correction) and D (deletion of a final one) speak of a validated
    /// document; P (preliminary), R (not verified), I and S (pending) of a draft; anything else says nothing.
    /// </summary>
    private static bool? Obx11Validated(string? status) => status switch
    {
        "F" or "C" or "D" => true,
        "P" or "R" or "I" or "S" => false,
        _ => null,
    };

    private static string? Obx11(RecordInput s) =>
        s.SegmentIndex >= 0 && s.SegmentIndex < s.Run.SegmentCount && s.Run.IdAt(s.SegmentIndex) == "OBX"
            ? s.Run.Message.GetSegment(s.SegmentIndex).GetField(11).GetComponent(1).ValueOrNull
            : null;

    private static bool? Flag(IReadOnlyDictionary<string, string> flags, string key) =>
        flags.TryGetValue(key, out var v) ? v switch { "Y" => true, "N" => false, _ => null } : null;

    private static bool SameId(Identifier a, Identifier b) =>
        string.Equals(a.Value, b.Value, StringComparison.Ordinal) && string.Equals(a.System, b.System, StringComparison.Ordinal);
}
