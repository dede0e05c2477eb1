using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Grains.Diagnostics;
using MobileNet.Orleans.Grains.Workers;

namespace MobileNet.Orleans.Grains.Accounting;

/// <summary>
/// Tells coordinators this silo's usage of their jobs (<see cref="SiloUsageMeter"/> totals). Called on every usage
/// tick for the jobs that changed, and by a shard right after it completes, so a job's figures hold that shard soon after.
/// </summary>
public sealed partial class JobUsageReporter(
    IGrainFactory grains,
    ILocalSiloDetails silo,
    SiloUsageMeter meter,
    JobMetrics metrics,
    TimeProvider time,
    IOptions<WorkerOptions> options,
    ILogger<JobUsageReporter> logger)
{
    private static readonly TimeSpan ForgetAfter = TimeSpan.FromMinutes(10);

    private readonly WorkerOptions settings = options.Value;
    private readonly Dictionary<string, DateTimeOffset> lastChanged = new(StringComparer.Ordinal);

    /// <summary>Attributes CPU time up to now and reports <paramref name="jobId"/>'s totals to its coordinator.</summary>
    public async Task ReportJobNowAsync(string jobId, CancellationToken cancellationToken)
    {
        Record(meter.Sample());
        await ReportJobAsync(jobId, cancellationToken);
    }

    /// <summary>Attributes CPU time up to now and reports every job whose totals changed.</summary>
    public async Task ReportChangedAsync(CancellationToken cancellationToken)
    {
        var changed = meter.Sample();
        Record(changed);
        await Task.WhenAll(changed.Select(c => ReportJobAsync(c.JobId, cancellationToken)));
        ForgetQuietJobs();
    }

    private void Record(IReadOnlyList<(string JobId, double CpuSeconds)> changed)
    {
        var now = time.GetUtcNow();
        lock (lastChanged)
        {
            foreach (var (job, seconds) in changed)
            {
                lastChanged[job] = now;
                metrics.CpuAttributed(job, seconds);
            }
        }
    }

    private async Task ReportJobAsync(string jobId, CancellationToken cancellationToken)
    {
        if (meter.UsageOf(jobId) is not { } usage)
        {
            return;
        }

        try
        {
            await grains.GetGrain<IJobCoordinatorGrain>(jobId)
                .ReportSiloUsageAsync(new SiloJobUsage { Silo = silo.Name, Cores = Environment.ProcessorCount, Images = usage.Images, CpuSeconds = usage.CpuSeconds })
                .WaitAsync(settings.CallTimeout, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Totals: the next report carries everything this one had.
            LogReportFailed(logger, ex, jobId);
        }
    }

    private void ForgetQuietJobs()
    {
        var now = time.GetUtcNow();
        string[] quiet;
        lock (lastChanged)
        {
            quiet = [.. lastChanged.Where(e => now - e.Value > ForgetAfter).Select(e => e.Key)];
            foreach (var job in quiet)
            {
                lastChanged.Remove(job);
            }
        }

        meter.Forget(quiet);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Usage report to job {JobId} failed; the next one carries the totals")]
    private static partial void LogReportFailed(ILogger logger, Exception exception, string jobId);
}
