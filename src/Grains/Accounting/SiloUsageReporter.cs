using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MobileNet.Orleans.Contracts.Cluster;
using MobileNet.Orleans.Grains.Models;
using MobileNet.Orleans.Grains.Workers;

namespace MobileNet.Orleans.Grains.Accounting;

/// <summary>
/// Every <see cref="WorkerOptions.UsageReportInterval"/>: reports job usage (<see cref="JobUsageReporter"/>) and sends
/// this silo's report (cores, slots, running shards, models, cache use, CPU) to <see cref="IClusterStatsGrain"/>.
/// </summary>
public sealed partial class SiloUsageReporter(
    IGrainFactory grains,
    ILocalSiloDetails silo,
    SiloUsageMeter meter,
    JobUsageReporter jobs,
    ShardWorkerService worker,
    ModelCache models,
    TimeProvider time,
    IOptions<WorkerOptions> options,
    ILogger<SiloUsageReporter> logger) : BackgroundService
{
    private static readonly TimeSpan DiskScanInterval = TimeSpan.FromSeconds(30);

    private readonly WorkerOptions settings = options.Value;
    private readonly DateTimeOffset startedAt = time.GetUtcNow();
    private (DateTimeOffset At, long Bytes) disk = (DateTimeOffset.MinValue, 0);
    private (DateTimeOffset At, TimeSpan Cpu) lastReport;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        lastReport = (time.GetUtcNow(), meter.CpuTime);
        using var timer = new PeriodicTimer(settings.UsageReportInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await jobs.ReportChangedAsync(stoppingToken);
                await ReportSiloAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task ReportSiloAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var cpu = meter.CpuTime;
        var wall = (now - lastReport.At).TotalSeconds;
        var utilization = wall > 0 ? Math.Clamp((cpu - lastReport.Cpu).TotalSeconds / wall / Environment.ProcessorCount, 0, 1) : 0;
        lastReport = (now, cpu);
        if (now - disk.At >= DiskScanInterval)
        {
            disk = (now, models.DiskBytes());
        }

        var loaded = models.Loaded();
        var report = new SiloReport
        {
            Silo = silo.Name,
            Address = silo.SiloAddress.Endpoint.ToString(),
            Cores = Environment.ProcessorCount,
            Slots = worker.Slots,
            RunningShards = worker.RunningShards,
            Draining = worker.IsDraining,
            Models = loaded,
            CacheMemoryBytes = loaded.Sum(m => m.SizeBytes),
            CacheMemoryBudgetBytes = models.MemoryBudgetBytes,
            CacheDiskBytes = disk.Bytes,
            CacheDiskBudgetBytes = models.DiskBudgetBytes,
            CpuSeconds = cpu.TotalSeconds,
            ImagesProcessed = meter.ImagesProcessed,
            CpuUtilization = utilization,
            StartedAt = startedAt,
            ReportedAt = now,
        };
        try
        {
            await grains.GetGrain<IClusterStatsGrain>(0).ReportAsync(report).WaitAsync(settings.CallTimeout, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogReportFailed(logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Silo report to the cluster stats failed; the next one replaces it")]
    private static partial void LogReportFailed(ILogger logger, Exception exception);
}
