using Dmp.Mapping.Hl7v2;
using Dmp.Model;

namespace Dmp.Mapping.Generic;

/// <summary>HL7 v2 timestamps as model dates, keeping precision and offset.</summary>
public static class DateConversions
{
    public static PartialDateTime ToPartial(this Hl7DateTime value) =>
        new(value.Local, (DateTimePrecision)(int)value.Precision, value.Offset);
}
