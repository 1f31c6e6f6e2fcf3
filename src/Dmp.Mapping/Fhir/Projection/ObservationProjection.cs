using Dmp.Model;
using static Dmp.Mapping.Fhir.Projection.FhirValues;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir.Projection;

/// <summary>An observation (OBX, a CDA observation entry) as a FHIR Observation: its value as quantity, range, ratio, code, date or text.</summary>
public static class ObservationProjection
{
    public static F.Observation ToFhir(Observation o, string id, F.ResourceReference? subject)
    {
        ArgumentNullException.ThrowIfNull(o);
        var observation = new F.Observation
        {
            Id = id,
            Status = o.Status switch
            {
                "registered" => F.ObservationStatus.Registered,
                "preliminary" => F.ObservationStatus.Preliminary,
                "final" => F.ObservationStatus.Final,
                "amended" => F.ObservationStatus.Amended,
                "corrected" => F.ObservationStatus.Corrected,
                "cancelled" => F.ObservationStatus.Cancelled,
                "entered-in-error" => F.ObservationStatus.EnteredInError,
                _ => F.ObservationStatus.Unknown,
            },
            Code = Concept(o.Code) ?? new F.CodeableConcept { Text = "unknown" },
            Subject = subject,
            Effective = ToDateTime(o.EffectiveAt),
        };
        if (o.Category is { } observationCategory)
            observation.Category.Add(new F.CodeableConcept("http://terminology.hl7.org/CodeSystem/observation-category", observationCategory));
        if (o.Value is { } v)
        {
            if (v.Number is { } n && v.Number2 is { } n2)
            {
                observation.Value = v.Separator is ":" or "/"
                    ? new F.Ratio { Numerator = new F.Quantity { Value = n }, Denominator = new F.Quantity { Value = n2 } }
                    : new F.Range { Low = Quantity(n, o.Unit), High = Quantity(n2, o.Unit) };
            }
            else if (v.Number is { } number)
            {
                var quantity = new F.Quantity { Value = number };
                ApplyUnit(quantity, o.Unit);
                quantity.Comparator = v.Comparator switch
                {
                    "<" => F.Quantity.QuantityComparator.LessThan,
                    "<=" => F.Quantity.QuantityComparator.LessOrEqual,
                    ">" => F.Quantity.QuantityComparator.GreaterThan,
                    ">=" => F.Quantity.QuantityComparator.GreaterOrEqual,
                    _ => null,
                };
                observation.Value = quantity;
            }
            else if (Concept(v.Coded) is { } coded)
            {
                observation.Value = coded;
            }
            else if (ToDateTime(v.Date) is { } date)
            {
                observation.Value = date;
            }
            else if (!string.IsNullOrEmpty(v.Text))
            {
                observation.Value = new F.FhirString(v.Text);
            }
        }
        foreach (var flag in o.Interpretation)
            observation.Interpretation.Add(new F.CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", flag));
        if (o.Range is { } range)
        {
            observation.ReferenceRange.Add(new F.Observation.ReferenceRangeComponent
            {
                Low = range.Low is { } low ? Quantity(low, o.Unit) : null,
                High = range.High is { } high ? Quantity(high, o.Unit) : null,
                Text = range.Text,
            });
        }
        return observation;
    }
}
