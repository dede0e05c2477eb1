using MobileNet.Orleans.Contracts.Jobs;

namespace MobileNet.Orleans.Grains.Jobs.Progress;

/// <summary>
/// Images processed over time for the dashboard's chart: one point per <paramref name="interval"/>; when full, every
/// other point is dropped and the interval doubles, so a job of any length keeps at most <paramref name="capacity"/>
/// points spread over its whole life. Memory only (a coordinator that moves starts a new history).
/// </summary>
public sealed class ThroughputHistory(TimeSpan interval, int capacity = 240)
{
    private readonly List<ThroughputSample> samples = [];
    private TimeSpan spacing = interval > TimeSpan.Zero ? interval : throw new ArgumentOutOfRangeException(nameof(interval));

    public TimeSpan Spacing => spacing;

    public void Record(DateTimeOffset at, long processed)
    {
        if (samples.Count > 0 && at - samples[^1].At < spacing)
        {
            return;
        }

        samples.Add(new ThroughputSample { At = at, Processed = processed });
        if (samples.Count > capacity)
        {
            // Keep the first point (the start) and every other one after it.
            for (var i = samples.Count - 2; i >= 1; i -= 2)
            {
                samples.RemoveAt(i);
            }

            spacing *= 2;
        }
    }

    /// <summary>The stored points plus <paramref name="now"/>'s count once half an interval has passed (a rate over a sliver of time is noise).</summary>
    public IReadOnlyList<ThroughputSample> Snapshot(DateTimeOffset now, long processed) =>
        samples.Count > 0 && now - samples[^1].At < spacing / 2 ? [.. samples] : [.. samples, new ThroughputSample { At = now, Processed = processed }];
}
