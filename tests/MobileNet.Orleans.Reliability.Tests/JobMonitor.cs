using System.Diagnostics;
using MobileNet.Orleans.Client.Cluster;
using MobileNet.Orleans.Client.Storage;
using MobileNet.Orleans.Contracts.Jobs;

namespace MobileNet.Orleans.Reliability.Tests;

/// <summary>A job's progress at one moment, as the monitor saw it.</summary>
internal sealed record JobProgress(DateTimeOffset At, JobStatus Status)
{
    public long Processed => Status.Labeled + Status.Errors;

    public bool IsTerminal => Status.IsTerminal;

    public JobState State => Status.State;
}

/// <summary>
/// Follows jobs through one long-lived cluster client (cheaper than a CLI call per poll, and it keeps working while
/// storage is down, when a new client could not look the gateways up). Reconnects after a run of failed calls, e.g.
/// once every silo it knew was killed. Keeps every sample, so recovery times can be read afterwards.
/// </summary>
internal sealed class JobMonitor(SiloProcessCluster cluster) : IAsyncDisposable
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(3);
    private readonly List<JobProgress> _samples = [];
    private ClusterConnection? _connection;
    private DateTimeOffset _lastSuccess = DateTimeOffset.UtcNow;

    public IReadOnlyList<JobProgress> Samples
    {
        get
        {
            lock (_samples)
            {
                return [.. _samples];
            }
        }
    }

    public async Task<JobProgress?> TryGetAsync(string jobId)
    {
        try
        {
            _connection ??= await ClusterConnection.ConnectAsync(
                new ClusterSettings
                {
                    Storage = StorageConnection.Resolve(cluster.Storage),
                    ClusterId = cluster.ClusterId,
                    ServiceId = cluster.ServiceId,
                    TlsDirectory = TestCertificates.Shared.Client(Contracts.Security.CallerRole.Admin),
                    ConnectTimeout = TimeSpan.FromSeconds(8),
                },
                CancellationToken.None);
            var status = await _connection.Client.GetGrain<IJobCoordinatorGrain>(jobId).GetStatusAsync().WaitAsync(CallTimeout);
            var progress = new JobProgress(DateTimeOffset.UtcNow, status);
            _lastSuccess = progress.At;
            lock (_samples)
            {
                _samples.Add(progress);
            }

            return progress;
        }
#pragma warning disable CA1031 // Any failure (silo gone, storage down, timeout) just means: ask again.
        catch (Exception)
#pragma warning restore CA1031
        {
            if (_connection is not null && DateTimeOffset.UtcNow - _lastSuccess > TimeSpan.FromSeconds(8))
            {
                // The gateways it knew are gone: start over from the membership table.
                var stale = _connection;
                _connection = null;
                _lastSuccess = DateTimeOffset.UtcNow;
                _ = Task.Run(async () => await stale.DisposeAsync());
            }

            return null;
        }
    }

    /// <summary>Polls (about 4 times a second) until <paramref name="until"/> holds; fails the test on timeout.</summary>
    public async Task<JobProgress> WaitAsync(string jobId, Func<JobProgress, bool> until, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        JobProgress? last = null;
        while (watch.Elapsed < timeout)
        {
            var progress = await TryGetAsync(jobId);
            if (progress is not null)
            {
                last = progress;
                if (until(progress))
                {
                    return progress;
                }
            }

            await Task.Delay(250);
        }

        Assert.Fail($"job {jobId}: condition not met within {timeout.TotalSeconds:F0} s; last seen: {(last is null ? "nothing (no answer)" : $"{last.State} {last.Processed}/{last.Status.TotalImages}, shards {last.Status.ShardsDone} done {last.Status.ShardsRunning} running {last.Status.ShardsPending} pending")}");
        return last!;
    }

    /// <summary>The first sample after <paramref name="since"/> that satisfies <paramref name="condition"/>.</summary>
    public JobProgress? FirstAfter(string jobId, DateTimeOffset since, Func<JobProgress, bool> condition) =>
        Samples.FirstOrDefault(s => s.Status.JobId == jobId && s.At > since && condition(s));

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }
}
