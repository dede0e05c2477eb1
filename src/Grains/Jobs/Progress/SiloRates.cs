namespace MobileNet.Orleans.Grains.Jobs.Progress;

/// <summary>Each silo's images/s for one job over a sliding window, from periodic samples of its processed count.</summary>
public sealed class SiloRates(TimeSpan window)
{
    private readonly Dictionary<string, List<(DateTimeOffset At, long Processed)>> samples = new(StringComparer.Ordinal);

    public void Sample(DateTimeOffset now, IEnumerable<(string Silo, long Processed)> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (silo, processed) in counts)
        {
            seen.Add(silo);
            if (!samples.TryGetValue(silo, out var list))
            {
                samples[silo] = list = [];
            }

            list.Add((now, processed));
            list.RemoveAll(s => now - s.At > window);
        }

        foreach (var gone in samples.Keys.Where(k => !seen.Contains(k)).ToArray())
        {
            samples.Remove(gone);
        }
    }

    public double RateOf(string silo)
    {
        if (!samples.TryGetValue(silo, out var list) || list.Count < 2)
        {
            return 0;
        }

        var seconds = (list[^1].At - list[0].At).TotalSeconds;
        return seconds <= 0 ? 0 : Math.Max(0, list[^1].Processed - list[0].Processed) / seconds;
    }
}
