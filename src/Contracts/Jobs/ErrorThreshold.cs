using System.Globalization;

namespace MobileNet.Orleans.Contracts.Jobs;

/// <summary>How many unlabeled images a job tolerates before it fails: a count (<c>50</c>) or a fraction (<c>10%</c>).</summary>
[GenerateSerializer, Immutable, Alias("mobilenet.error-threshold")]
public sealed record ErrorThreshold
{
    [Id(0)] public long? MaxCount { get; init; }

    [Id(1)] public double? MaxFraction { get; init; }

    /// <summary>True when <paramref name="errors"/> out of <paramref name="total"/> images exceeds the threshold.</summary>
    public bool IsExceeded(long errors, long total) =>
        (MaxCount is { } count && errors > count) ||
        (MaxFraction is { } fraction && total > 0 && errors > fraction * total);

    public override string ToString() =>
        MaxCount is { } c ? c.ToString(CultureInfo.InvariantCulture)
        : MaxFraction is { } f ? (f * 100).ToString("0.###", CultureInfo.InvariantCulture) + "%"
        : "none";

    /// <summary>Parses <c>N</c> (count, N &gt;= 0) or <c>P%</c> (0 &lt;= P &lt;= 100).</summary>
    public static ErrorThreshold Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var text = value.Trim();
        if (text.EndsWith('%'))
        {
            if (double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var percent) && percent is >= 0 and <= 100)
            {
                return new ErrorThreshold { MaxFraction = percent / 100 };
            }
        }
        else if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            return new ErrorThreshold { MaxCount = count };
        }

        throw new FormatException($"'{value}' is not an error threshold: give a count (e.g. 50) or a percentage between 0% and 100% (e.g. 10%)");
    }
}
