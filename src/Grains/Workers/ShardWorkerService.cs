using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Grains.Resilience;
using Polly;
using Polly.Registry;

namespace MobileNet.Orleans.Grains.Workers;

/// <summary>
/// Every silo's worker: pulls shard leases from the coordinators of active jobs whenever it has free slots, so work
/// spreads over silos in proportion to their capacity and a silo that joins gets work at its next poll. On shutdown
/// it drains: takes no more leases, lets running shards finish for up to the drain timeout, then hands the rest back.
/// </summary>
public sealed partial class ShardWorkerService(
    IGrainFactory grains,
    ILocalSiloDetails silo,
    ShardRunner runner,
    IOptions<WorkerOptions> options,
    ResiliencePipelineProvider<string> pipelines,
    ILogger<ShardWorkerService> logger) : BackgroundService
{
    private readonly WorkerOptions settings = options.Value;
    private readonly ResiliencePipeline registryPipeline = pipelines.GetPipeline(SiloResiliencePipelines.RegistryPoll);
    private readonly ConcurrentDictionary<Guid, RunningShard> running = new();
    private readonly CancellationTokenSource abort = new();
    // Cancelled when draining begins: a registry poll being retried stops (lease calls in flight are let finish).
    private readonly CancellationTokenSource drainStarted = new();
    private readonly SemaphoreSlim wake = new(0);
    private readonly Stopwatch sinceJobsFetched = new();
    private IReadOnlyList<string> activeJobs = [];
    private volatile bool draining;
    private uint rotation;
    private int disposed;

    /// <summary>Shards this silo is labeling now.</summary>
    public int RunningShards => running.Count;

    /// <summary>True once shutdown began: no new leases are taken.</summary>
    public bool IsDraining => draining;

    public int Slots => settings.EffectiveSlots;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LogWorkerStarted(logger, silo.Name, Slots, settings.IntraOpThreads);
        while (!stoppingToken.IsCancellationRequested && !draining)
        {
            try
            {
                await LeaseWorkAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested || draining)
            {
                break;
            }
#pragma warning disable CA1031 // The worker must outlive any one round: the next poll tries again.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogRoundFailed(logger, ex);
            }

            try
            {
                // Wakes early when a shard finishes, so a free slot is refilled at once.
                await wake.WaitAsync(settings.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task LeaseWorkAsync(CancellationToken cancellationToken)
    {
        var free = Slots - running.Count;
        if (free <= 0)
        {
            return;
        }

        var jobs = await GetActiveJobsAsync(cancellationToken);
        if (jobs.Count == 0)
        {
            return;
        }

        // Start at a different job each round so concurrent jobs share the slots.
        var start = (int)(rotation++ % (uint)jobs.Count);
        for (var i = 0; i < jobs.Count && free > 0 && !draining; i++)
        {
            var jobId = jobs[(start + i) % jobs.Count];
            IReadOnlyList<ShardLease> leases;
            try
            {
                leases = await grains.GetGrain<IJobCoordinatorGrain>(jobId).LeaseShardsAsync(silo.Name, free)
                    .WaitAsync(settings.CallTimeout, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogLeaseFailed(logger, ex, jobId);
                continue;
            }

            foreach (var lease in leases)
            {
                if (draining)
                {
                    // Shutdown began while the lease call was in flight: give it straight back.
                    await ReleaseAsync(lease);
                    continue;
                }

                Start(lease);
                free--;
            }
        }
    }

    private async Task ReleaseAsync(ShardLease lease)
    {
        try
        {
            await grains.GetGrain<IJobCoordinatorGrain>(lease.Lease.JobId).ReleaseShardAsync(lease.Lease).WaitAsync(settings.CallTimeout);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The lease expires instead; the shard is redone elsewhere.
            LogLeaseFailed(logger, ex, lease.Lease.JobId);
        }
    }

    private async Task<IReadOnlyList<string>> GetActiveJobsAsync(CancellationToken cancellationToken)
    {
        if (!sinceJobsFetched.IsRunning || sinceJobsFetched.Elapsed >= settings.ActiveJobsCacheTime)
        {
            // Retried until the registry answers (SiloResiliencePipelines.RegistryPoll), or the worker stops or drains.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, drainStarted.Token);
            activeJobs = await registryPipeline.ExecuteAsync(
                static async (grains, ct) => await grains.GetGrain<IJobRegistryGrain>(0).GetActiveJobsAsync().WaitAsync(ct),
                grains,
                stop.Token);
            sinceJobsFetched.Restart();
        }

        return activeJobs;
    }

    private void Start(ShardLease lease)
    {
        var run = new RunningShard(lease, abort.Token);
        running[lease.Lease.LeaseId] = run;
        run.Completion = Task.Run(async () =>
        {
            try
            {
                await runner.RunAsync(run, abort.Token);
            }
#pragma warning disable CA1031 // A shard's failure is reported by the runner; nothing may escape and kill the worker.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogShardCrashed(logger, ex, lease.Lease.JobId, lease.Lease.ShardId);
            }
            finally
            {
                running.TryRemove(lease.Lease.LeaseId, out _);
                run.Dispose();
                wake.Release();
            }
        });
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        draining = true;
        await drainStarted.CancelAsync();
        wake.Release();
        if (ExecuteTask is { } loop)
        {
            // Let a lease call in flight finish (and hand back what it got) before counting what runs.
            try
            {
                await loop.WaitAsync(settings.CallTimeout, cancellationToken);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                // Forced stop or a hung call: carry on with what is known.
            }
        }

        var inFlight = running.Values.ToArray();
        if (cancellationToken.IsCancellationRequested)
        {
            // No time to drain (forced stop): abandon; the leases expire and other silos redo the shards.
            await abort.CancelAsync();
        }
        else if (inFlight.Length > 0)
        {
            LogDraining(logger, silo.Name, inFlight.Length, settings.DrainTimeout.TotalSeconds);
            try
            {
                await Task.WhenAll(inFlight.Select(r => r.Completion)).WaitAsync(settings.DrainTimeout, cancellationToken);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                // Drain time is up: hand the rest back below.
            }

            var left = running.Values.ToArray();
            foreach (var run in left)
            {
                run.HandBack = true;
                await run.Cancellation.CancelAsync();
            }

            try
            {
                await Task.WhenAll(left.Select(r => r.Completion)).WaitAsync(settings.CallTimeout, cancellationToken);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                await abort.CancelAsync();
            }

            LogDrained(logger, silo.Name, inFlight.Length - left.Length, left.Length);
        }
        else
        {
            // Stopped between shards: say so, so an operator (and the scale-in test) sees the drain ended clean.
            LogDrained(logger, silo.Name, 0, 0);
        }

        await base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        // Registered both as a singleton and as the hosted service, so the container disposes it twice.
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }

        abort.Cancel();
        abort.Dispose();
        drainStarted.Dispose();
        wake.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard worker on {Silo} started: {Slots} slots, {IntraOpThreads} inference threads each")]
    private static partial void LogWorkerStarted(ILogger logger, string silo, int slots, int intraOpThreads);

    [LoggerMessage(Level = LogLevel.Error, Message = "Leasing round failed; the next poll tries again")]
    private static partial void LogRoundFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: could not lease shards")]
    private static partial void LogLeaseFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} shard {ShardId}: worker crashed")]
    private static partial void LogShardCrashed(ILogger logger, Exception exception, string jobId, int shardId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} draining: {Shards} shards running, up to {Seconds} s to finish")]
    private static partial void LogDraining(ILogger logger, string silo, int shards, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} drained: {Finished} shards finished, {HandedBack} handed back")]
    private static partial void LogDrained(ILogger logger, string silo, int finished, int handedBack);
}
