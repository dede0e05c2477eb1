using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace MobileNet.Orleans.Grains.Diagnostics;

/// <summary>The silo's job metrics on meter <see cref="MeterName"/> (exported by the silo's OpenTelemetry setup).</summary>
public sealed class JobMetrics : IDisposable
{
    public const string MeterName = "MobileNet.Orleans";

    private readonly Meter meter;
    private readonly Counter<long> imagesLabeled;
    private readonly Counter<long> imageErrors;
    private readonly Counter<long> shardAttemptsFailed;
    private readonly Histogram<double> shardDuration;
    private readonly Histogram<double> modelLoadDuration;
    private readonly Counter<long> stateBytesWritten;
    private readonly Counter<long> stateWrites;
    private readonly Counter<double> cpuTime;
    private readonly ConcurrentDictionary<string, long> pendingByJob = new(StringComparer.Ordinal);
    private long imagesInFlight;

    public JobMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        meter = meterFactory.Create(MeterName);
        imagesLabeled = meter.CreateCounter<long>("mobilenet.images.labeled", "{image}", "Images labeled by this silo's workers");
        imageErrors = meter.CreateCounter<long>("mobilenet.images.errors", "{image}", "Images this silo's workers could not label (error rows)");
        shardAttemptsFailed = meter.CreateCounter<long>("mobilenet.shards.failed_attempts", "{attempt}", "Shard attempts that failed on this silo");
        shardDuration = meter.CreateHistogram<double>("mobilenet.shard.duration", "s", "Time to label one shard, download to result upload");
        modelLoadDuration = meter.CreateHistogram<double>("mobilenet.model.load.duration", "s", "Time to download, verify and load a model");
        stateBytesWritten = meter.CreateCounter<long>("mobilenet.coordinator.state.bytes_written", "By", "Bytes of job state (headers and shard segments) this silo's coordinators wrote");
        stateWrites = meter.CreateCounter<long>("mobilenet.coordinator.state.writes", "{write}", "Job state blobs this silo's coordinators wrote");
        cpuTime = meter.CreateCounter<double>("mobilenet.worker.cpu_time", "s", "Process CPU time this silo spent on each job's images (CPU-seconds per 1,000 images = this / images x 1000)");
        meter.CreateObservableGauge("mobilenet.images.in_flight", () => Interlocked.Read(ref imagesInFlight), "{image}", "Images in shards this silo is labeling now");
        meter.CreateObservableGauge("mobilenet.images.pending", ObservePending, "{image}", "Images not yet labeled, per job whose coordinator runs on this silo");
    }

    public void ShardCompleted(string jobId, int labeled, int errors, TimeSpan duration)
    {
        var tag = new KeyValuePair<string, object?>("job", jobId);
        imagesLabeled.Add(labeled, tag);
        imageErrors.Add(errors, tag);
        shardDuration.Record(duration.TotalSeconds, tag);
    }

    public void CpuAttributed(string jobId, double seconds) => cpuTime.Add(seconds, new KeyValuePair<string, object?>("job", jobId));

    public void ShardAttemptFailed(string jobId) => shardAttemptsFailed.Add(1, new KeyValuePair<string, object?>("job", jobId));

    public void ModelLoaded(string model, TimeSpan duration) =>
        modelLoadDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("model", model));

    public void StateWritten(int bytes)
    {
        stateBytesWritten.Add(bytes);
        stateWrites.Add(1);
    }

    public void AddInFlight(long images) => Interlocked.Add(ref imagesInFlight, images);

    /// <summary>Published by a job's coordinator; a finished job reports 0 until its coordinator deactivates.</summary>
    public void SetPending(string jobId, long images) => pendingByJob[jobId] = images;

    public void RemovePending(string jobId) => pendingByJob.TryRemove(jobId, out _);

    private IEnumerable<Measurement<long>> ObservePending()
    {
        foreach (var (job, pending) in pendingByJob)
        {
            yield return new Measurement<long>(pending, new KeyValuePair<string, object?>("job", job));
        }
    }

    public void Dispose() => meter.Dispose();
}
