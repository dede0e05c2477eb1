using MobileNet.Orleans.Client.Cluster;
using MobileNet.Orleans.Client.Storage;
using MobileNet.Orleans.Contracts.Jobs;

namespace MobileNet.Orleans.Client.Jobs;

/// <summary>The client's calls to a job's coordinator, with CLI-style errors (unknown job: exit 2).</summary>
public static class JobCalls
{
    /// <summary>How often <c>submit --wait</c> and <c>watch</c> ask for status: a status call is one in-memory grain
    /// turn, and polling twice a second notices the end of a short job half a second sooner on average.</summary>
    public static readonly TimeSpan WatchPollInterval = TimeSpan.FromMilliseconds(500);

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
    /// Polls the job until it ends, drawing progress on <paramref name="progress"/>. Transient failures (the silo
    /// hosting the coordinator died, a gateway moved) are retried for <paramref name="patience"/>: the job does
    /// not depend on this client, so watching simply resumes.
    /// </summary>
    /// <param name="nodePrice">Price per node-hour: the line then shows costs too (<see cref="JobCostFormatter.WatchSuffix"/>).</param>
    public static async Task<JobStatus> WatchAsync(IClusterClient client, string jobId, TextWriter progress, bool interactive, TimeSpan interval, TimeSpan patience, CancellationToken cancellationToken, decimal? nodePrice = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(progress);
        ValidateJobId(jobId);
        var lastPrinted = DateTimeOffset.MinValue;
        string? lastKey = null;
        var failingSince = (DateTimeOffset?)null;
        var width = 0;
        while (true)
        {
            JobStatus status;
            try
            {
                status = await GetStatusAsync(client, jobId).ConfigureAwait(false);
                if (failingSince is not null)
                {
                    await progress.WriteLineAsync((interactive ? "\n" : "") + "  (reconnected)").ConfigureAwait(false);
                    failingSince = null;
                }
            }
            catch (Exception ex) when (ex is not CliUsageException && ex is not OperationCanceledException)
            {
                var now = DateTimeOffset.UtcNow;
                if (failingSince is null)
                {
                    failingSince = now;
                    await progress.WriteLineAsync((interactive ? "\n" : "") + $"  (cluster not answering: {ClusterConnection.OneLine(ex)}; retrying for up to {patience.TotalSeconds:0} s)").ConfigureAwait(false);
                }
                else if (now - failingSince > patience)
                {
                    throw new InvalidOperationException($"the cluster did not answer for {patience.TotalSeconds:0} s ({ClusterConnection.OneLine(ex)}); the job keeps running: 'mobilenet watch {jobId}' reattaches", ex);
                }

                await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var line = JobStatusFormatter.ProgressLine(status) + JobCostFormatter.WatchSuffix(status, nodePrice);
            if (interactive)
            {
                width = Math.Max(width, line.Length);
                await progress.WriteAsync("\r" + line.PadRight(width)).ConfigureAwait(false);
                if (status.IsTerminal)
                {
                    await progress.WriteLineAsync().ConfigureAwait(false);
                }
            }
            else
            {
                // Logs and pipes get a line when something moved, at most every few seconds, and always the last one.
                var key = $"{status.State}/{JobStatusFormatter.Processed(status)}/{status.TotalImages}";
                if (status.IsTerminal || (key != lastKey && DateTimeOffset.UtcNow - lastPrinted >= TimeSpan.FromSeconds(2)))
                {
                    await progress.WriteLineAsync(line).ConfigureAwait(false);
                    lastPrinted = DateTimeOffset.UtcNow;
                    lastKey = key;
                }
            }

            await progress.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (status.IsTerminal)
            {
                return status;
            }

            await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
        }
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

    /// <summary>Whether progress can be redrawn in place (an interactive terminal), else it is printed as lines.</summary>
    public static bool IsInteractive(TextWriter writer) => ReferenceEquals(writer, Console.Error) && !Console.IsErrorRedirected;

    private static CliUsageException UnknownJob(string jobId) =>
        new($"unknown job '{jobId}' in this cluster; 'mobilenet jobs' lists recent jobs (check --cluster-id / MOBILENET_CLUSTER_ID)");
}
