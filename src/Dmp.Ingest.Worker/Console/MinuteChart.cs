using System.Globalization;
using System.Net;
using System.Text;

namespace Dmp.Ingest.Worker.OperatorConsole;

/// <summary>The dashboard's per-minute chart as SVG drawn on the server: three lines (received, ACKed, failed) over 60 minutes.</summary>
public static class MinuteChart
{
    private const int Width = 720;
    private const int Height = 200;
    private const int Pad = 30;

    public static string Svg(IReadOnlyList<MinuteCounts> minutes, string title, string received, string acked, string failed)
    {
        ArgumentNullException.ThrowIfNull(minutes);
        var max = Math.Max(1, minutes.Max(m => Math.Max(m.Received, Math.Max(m.Acked, m.Failed))));
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture,
            $"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {Width} {Height + 30}\" role=\"img\" aria-labelledby=\"chart-title\" class=\"chart\">");
        svg.Append(CultureInfo.InvariantCulture, $"<title id=\"chart-title\">{WebUtility.HtmlEncode(title)}</title>");
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Pad}\" y1=\"{Height}\" x2=\"{Width}\" y2=\"{Height}\" stroke=\"#555\"/>");
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Pad}\" y1=\"10\" x2=\"{Pad}\" y2=\"{Height}\" stroke=\"#555\"/>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"2\" y=\"16\" font-size=\"11\" fill=\"#222\">{max}</text><text x=\"2\" y=\"{Height}\" font-size=\"11\" fill=\"#222\">0</text>");
        Line(svg, minutes, m => m.Received, max, "#1f5fa8", received, 0);
        Line(svg, minutes, m => m.Acked, max, "#1d7a35", acked, 1);
        Line(svg, minutes, m => m.Failed, max, "#b3261e", failed, 2);
        svg.Append("</svg>");
        return svg.ToString();
    }

    private static void Line(StringBuilder svg, IReadOnlyList<MinuteCounts> minutes, Func<MinuteCounts, long> value, long max, string colour, string label, int legend)
    {
        var step = (double)(Width - Pad - 10) / Math.Max(1, minutes.Count - 1);
        var points = string.Join(' ', minutes.Select((m, i) => string.Create(CultureInfo.InvariantCulture,
            $"{Pad + i * step:0.#},{Height - (double)value(m) / max * (Height - 20):0.#}")));
        svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{points}\"><title>{WebUtility.HtmlEncode(label)}</title></polyline>");
        var x = Pad + legend * 180;
        svg.Append(CultureInfo.InvariantCulture,
            $"<rect x=\"{x}\" y=\"{Height + 12}\" width=\"12\" height=\"12\" fill=\"{colour}\"/><text x=\"{x + 16}\" y=\"{Height + 23}\" font-size=\"12\" fill=\"#222\">{WebUtility.HtmlEncode(label)} ({minutes.Sum(value)})</text>");
    }
}
