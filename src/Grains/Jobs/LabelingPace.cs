namespace MobileNet.Orleans.Grains.Jobs;

/// <summary>
/// How fast a job labels and how far behind the uploads it is: images finished in the last minute and hour, and the
/// time from a blob's creation to its labels (per shard, from its oldest blob). Coordinator memory only, an hour deep;
/// a coordinator that moves starts counting again.
/// </summary>
public sealed class LabelingPace(TimeProvider time)
{
    private static readonly TimeSpan Window = TimeSpan.FromHours(1);
    private readonly Queue<(DateTimeOffset At, int Images, double? Lag)> finished = new();
    private readonly Dictionary<int, DateTimeOffset> oldestCreated = [];

    public double? LastLagSeconds { get; private set; }

    /// <summary>A shard was cut from blobs created at these times (none known: no lag for it).</summary>
    public void ShardCut(int shardId, DateTimeOffset? oldest)
    {
        if (oldest is { } created)
        {
            oldestCreated[shardId] = created;
        }
    }

    public void ShardFinished(int shardId, int images)
    {
        var now = time.GetUtcNow();
        double? lag = oldestCreated.Remove(shardId, out var created) ? Math.Max(0, (now - created).TotalSeconds) : null;
        LastLagSeconds = lag ?? LastLagSeconds;
        finished.Enqueue((now, images, lag));
        Prune(now);
    }

    public (long LastMinute, long LastHour, double? MaxLag) Snapshot()
    {
        var now = time.GetUtcNow();
        Prune(now);
        long minute = 0, hour = 0;
        double? max = null;
        foreach (var (at, images, lag) in finished)
        {
            hour += images;
            if (now - at <= TimeSpan.FromMinutes(1))
            {
                minute += images;
            }

            if (lag is { } l && (max is null || l > max))
            {
                max = l;
            }
        }

        return (minute, hour, max);
    }

    private void Prune(DateTimeOffset now)
    {
        while (finished.TryPeek(out var first) && now - first.At > Window)
        {
            finished.Dequeue();
        }
    }
}
