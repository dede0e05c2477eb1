using System.Globalization;
using MobileNet.Orleans.Client.Cluster;
using MobileNet.Orleans.Client.Resilience;
using MobileNet.Orleans.Client.Storage;
using MobileNet.Orleans.Contracts.Jobs;
using Polly.Timeout;

namespace MobileNet.Orleans.Client.Jobs;

/// <summary>The client's calls to a job's coordinator, with CLI-style errors (unknown job: exit 2).</summary>
public static class JobCalls
{
    /// <summary>How often <c>submit --wait</c> and <c>watch</c> ask for status: a status call is one in-memory grain
    /// turn, and polling twice a second notices the end of a short job half a second sooner on average.</summary>
    public static readonly TimeSpan WatchPollInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>How long <c>watch</c> keeps retrying a cluster that does not answer before it gives up (the job runs on).</summary>
    public static readonly TimeSpan WatchPatience = TimeSpan.FromMinutes(2);

    public static void ValidateJobId(string jobId)
    {
        if (!JobId.IsValid(jobId))
        {
            throw new CliUsageException($"'{jobId}' is not a job id (e.g. job-20261126-001530-3fa9c1); 'mobilenet jobs' lists recent jobs");
        }
    }

    public static async Task<JobStatus> GetStatusAsync(IClusterClient client, string jobId)
    {
        ArgumentNullException.ThrowIfNull(client);
        ValidateJobId(jobId);
        try
        {
            return await client.GetGrain<IJobCoordinatorGrain>(jobId).GetStatusAsync().ConfigureAwait(false);
        }
        catch (KeyNotFoundException)
        {
            throw UnknownJob(jobId);
        }
    }

    public static async Task<JobStatus> CancelAsync(IClusterClient client, string jobId)
    {
        ArgumentNullException.ThrowIfNull(client);
        ValidateJobId(jobId);
        try
        {
            return await client.GetGrain<IJobCoordinatorGrain>(jobId).CancelAsync().ConfigureAwait(false);
        }
        catch (KeyNotFoundException)
        {
            throw UnknownJob(jobId);
        }
    }

    /// <summary>
    /// Polls the job until it ends, showing progress on <paramref name="view"/>. Transient failures (the silo hosting
    /// the coordinator died, a gateway moved) are retried for <paramref name="patience"/>
    /// (<see cref="ClientResiliencePipelines.WatchStatus"/>): the job does not depend on this client, so watching
    /// simply resumes.
    /// </summary>
    public static async Task<JobStatus> WatchAsync(IClusterClient client, string jobId, JobWatchView view, TimeSpan interval, TimeSpan patience, CancellationToken cancellationToken, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(view);
        ValidateJobId(jobId);
        var clock = time ?? TimeProvider.System;
        Exception? lastFailure = null;
        var failing = false;
        var pipeline = ClientResiliencePipelines.WatchStatus(interval, patience, async (ex, attempt) =>
        {
            lastFailure = ex;
            if (attempt == 0)
            {
                failing = true;
                await view.TroubleAsync(string.Create(CultureInfo.InvariantCulture, $"cluster not answering: {ClusterConnection.OneLine(ex)}; retrying for up to {patience.TotalSeconds:0} s")).ConfigureAwait(false);
            }
        }, clock);

        return await view.RunAsync(async () =>
        {
            while (true)
            {
                JobStatus status;
                try
                {
                    status = await pipeline.ExecuteAsync(async ct => await GetStatusAsync(client, jobId).WaitAsync(ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutRejectedException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    var why = lastFailure is null ? "no answer" : ClusterConnection.OneLine(lastFailure);
                    throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"the cluster did not answer for {patience.TotalSeconds:0} s ({why}); the job keeps running: 'mobilenet watch {jobId}' reattaches"), lastFailure ?? ex);
                }

                if (failing)
                {
                    failing = false;
                    await view.RecoveredAsync().ConfigureAwait(false);
                }

                await view.ShowAsync(status).ConfigureAwait(false);
                if (status.IsTerminal)
                {
                    return status;
                }

                await Task.Delay(interval, clock, cancellationToken).ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
    }

    /// <summary>Exit code for a finished job: 0 completed, 1 failed or cancelled.</summary>
    public static int ExitCodeOf(JobStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return status.State == JobState.Completed ? ExitCodes.Success : ExitCodes.RuntimeFailure;
    }

    /// <summary>The last line <c>watch</c>/<c>submit --wait</c> print: how the job ended.</summary>
    public static string Outcome(JobStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var took = status.StartedAt is { } s && status.EndedAt is { } e ? $" in {(e - s).TotalSeconds:0.0} s" : "";
        return status.State switch
        {
            JobState.Completed => $"job {status.JobId} completed{took}: {status.Labeled} labeled, {status.Errors} errors of {status.TotalImages} images",
            _ => $"job {status.JobId} {status.State.ToString().ToLowerInvariant()}{took}: {SecretRedaction.Redact(status.FailureReason ?? "no reason recorded")} ({status.Labeled} labeled, {status.Errors} errors of {status.TotalImages} images)",
        };
    }

    private static CliUsageException UnknownJob(string jobId) =>
        new($"unknown job '{jobId}' in this cluster; 'mobilenet jobs' lists recent jobs (check --cluster-id / MOBILENET_CLUSTER_ID)");
}
