namespace MobileNet.Orleans.Grains.Accounting;

/// <summary>
/// Splits this silo's process CPU time over the jobs it works on. At each <see cref="Sample"/> the CPU time since the
/// previous one goes to the jobs whose images were processed in between, by image count; an interval with shards
/// running but no image finished yet (model load, the first decodes) goes to the running jobs equally; an idle
/// interval (nothing running) goes to no job. Totals per job, since this silo first worked on it.
/// </summary>
public sealed class SiloUsageMeter
{
    private readonly Func<TimeSpan> cpuTime;
    private readonly Lock gate = new();
    private readonly Dictionary<string, long> imagesSinceSample = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> running = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JobUsage> totals = new(StringComparer.Ordinal);
    private TimeSpan lastCpu;
    private long imagesProcessed;

    /// <param name="cpuTime">The process's CPU time so far (user + system); <see cref="Environment.CpuUsage"/> in production.</param>
    public SiloUsageMeter(Func<TimeSpan> cpuTime)
    {
        this.cpuTime = cpuTime ?? throw new ArgumentNullException(nameof(cpuTime));
        lastCpu = cpuTime();
    }

    /// <summary>Images processed by this silo since it started (every job).</summary>
    public long ImagesProcessed => Interlocked.Read(ref imagesProcessed);

    public TimeSpan CpuTime => cpuTime();

    public void ShardStarted(string jobId)
    {
        lock (gate)
        {
            running[jobId] = running.GetValueOrDefault(jobId) + 1;
        }
    }

    public void ShardEnded(string jobId)
    {
        lock (gate)
        {
            if (running.TryGetValue(jobId, out var count))
            {
                if (count <= 1)
                {
                    running.Remove(jobId);
                }
                else
                {
                    running[jobId] = count - 1;
                }
            }
        }
    }

    /// <summary>One image of <paramref name="jobId"/> processed (labeled or an error row).</summary>
    public void ImageProcessed(string jobId)
    {
        Interlocked.Increment(ref imagesProcessed);
        lock (gate)
        {
            imagesSinceSample[jobId] = imagesSinceSample.GetValueOrDefault(jobId) + 1;
        }
    }

    /// <summary>Attributes the CPU time since the last sample; returns the jobs whose totals changed, with the seconds each got.</summary>
    public IReadOnlyList<(string JobId, double CpuSeconds)> Sample()
    {
        lock (gate)
        {
            var now = cpuTime();
            var delta = Math.Max(0, (now - lastCpu).TotalSeconds);
            lastCpu = now;
            var changed = new List<(string, double)>();
            var images = imagesSinceSample.Values.Sum();
            if (images > 0)
            {
                foreach (var (job, count) in imagesSinceSample)
                {
                    var share = delta * count / images;
                    Add(job, count, share);
                    changed.Add((job, share));
                }
            }
            else if (running.Count > 0)
            {
                foreach (var job in running.Keys)
                {
                    var share = delta / running.Count;
                    Add(job, 0, share);
                    changed.Add((job, share));
                }
            }

            imagesSinceSample.Clear();
            return changed;
        }
    }

    /// <summary>The job's totals on this silo; null when it never worked on it.</summary>
    public JobUsage? UsageOf(string jobId)
    {
        lock (gate)
        {
            return totals.TryGetValue(jobId, out var usage) ? usage : null;
        }
    }

    /// <summary>Forgets jobs with nothing running (their final totals were reported); bounds memory on a long-lived silo.</summary>
    public void Forget(IEnumerable<string> jobIds)
    {
        lock (gate)
        {
            foreach (var job in jobIds)
            {
                if (!running.ContainsKey(job) && !imagesSinceSample.ContainsKey(job))
                {
                    totals.Remove(job);
                }
            }
        }
    }

    private void Add(string job, long images, double seconds)
    {
        var current = totals.GetValueOrDefault(job);
        totals[job] = new JobUsage(current.Images + images, current.CpuSeconds + seconds);
    }
}

/// <summary>Images a silo processed for a job and the CPU time attributed to them.</summary>
public readonly record struct JobUsage(long Images, double CpuSeconds);
