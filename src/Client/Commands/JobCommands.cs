using System.CommandLine;
using System.Globalization;
using MobileNet.Orleans.Client.Cluster;
using MobileNet.Orleans.Client.Jobs;
using MobileNet.Orleans.Contracts.Jobs;

namespace MobileNet.Orleans.Client.Commands;

/// <summary><c>mobilenet status|watch|jobs|cancel</c>: follow and steer jobs on the cluster.</summary>
public static class JobCommands
{
    public static Command CreateStatus()
    {
        var job = new Argument<string>("job") { Description = "job id (printed by submit; 'mobilenet jobs' lists them)" };
        var json = new Option<bool>("--json") { Description = "print one JSON object (camelCase) instead of text" };
        var nodePrice = JobCostFormatter.NodePriceOption();
        var command = new Command("status", "Show a job's state and progress.") { job, json, nodePrice };
        var cluster = new ClusterConnectionOptions(command);
        command.SetAction(async (ParseResult parse, CancellationToken ct) =>
        {
            var jobId = parse.GetValue(job)!;
            JobCalls.ValidateJobId(jobId);
            var price = JobCostFormatter.ResolveNodePrice(parse.GetValue(nodePrice));
            await using var connection = await ClusterConnection.ConnectAsync(cluster.Resolve(parse), ct);
            var status = await JobCalls.GetStatusAsync(connection.Client, jobId);
            var output = parse.InvocationConfiguration.Output;
            await output.WriteAsync(parse.GetValue(json) ? JobStatusFormatter.ToJson(status, price) + "\n" : JobStatusFormatter.ToText(status) + JobCostFormatter.ToText(status, price));
            return ExitCodes.Success;
        });
        return command;
    }

    public static Command CreateWatch()
    {
        var job = new Argument<string>("job") { Description = "job id" };
        var interval = new Option<double>("--interval") { Description = "seconds between updates", DefaultValueFactory = _ => JobCalls.WatchPollInterval.TotalSeconds };
        var nodePrice = JobCostFormatter.NodePriceOption();
        var command = new Command("watch", "Show live progress until the job ends (exit 0 completed, 1 failed or cancelled); safe to stop and rerun.") { job, interval, nodePrice };
        var cluster = new ClusterConnectionOptions(command);
        command.SetAction(async (ParseResult parse, CancellationToken ct) =>
        {
            var jobId = parse.GetValue(job)!;
            JobCalls.ValidateJobId(jobId);
            var seconds = parse.GetValue(interval);
            if (!double.IsFinite(seconds) || seconds is < 0.1 or > 60)
            {
                throw new CliUsageException($"--interval {seconds.ToString(CultureInfo.InvariantCulture)} must be between 0.1 and 60 seconds");
            }

            var price = JobCostFormatter.ResolveNodePrice(parse.GetValue(nodePrice));
            await using var connection = await ClusterConnection.ConnectAsync(cluster.Resolve(parse), ct);
            // Fail fast (exit 2) for an unknown job before drawing anything.
            await JobCalls.GetStatusAsync(connection.Client, jobId);
            var error = parse.InvocationConfiguration.Error;
            var status = await JobCalls.WatchAsync(connection.Client, jobId, error, JobCalls.IsInteractive(error), TimeSpan.FromSeconds(seconds), TimeSpan.FromMinutes(2), ct, price);
            await error.WriteLineAsync(JobCalls.Outcome(status));
            await error.WriteAsync(JobCostFormatter.ToText(status, price));
            return JobCalls.ExitCodeOf(status);
        });
        return command;
    }

    public static Command CreateJobs()
    {
        var limit = new Option<int>("--limit", "-n") { Description = "how many recent jobs", DefaultValueFactory = _ => 20 };
        var json = new Option<bool>("--json") { Description = "print a JSON array of status objects" };
        var command = new Command("jobs", "List recent jobs with their state and progress.") { limit, json };
        var cluster = new ClusterConnectionOptions(command);
        command.SetAction(async (ParseResult parse, CancellationToken ct) =>
        {
            var max = parse.GetValue(limit);
            if (max is < 1 or > 1000)
            {
                throw new CliUsageException($"--limit {max} must be between 1 and 1000");
            }

            await using var connection = await ClusterConnection.ConnectAsync(cluster.Resolve(parse), ct);
            var entries = await connection.Client.GetGrain<IJobRegistryGrain>(0).GetRecentJobsAsync(max);
            var statuses = await Task.WhenAll(entries.Select(async e =>
            {
                try
                {
                    return (e, Status: (JobStatus?)await JobCalls.GetStatusAsync(connection.Client, e.JobId), Error: (string?)null);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    return (e, Status: null, Error: ClusterConnection.OneLine(ex));
                }
            }));
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                await output.WriteLineAsync("[" + string.Join(",", statuses.Where(s => s.Status is not null).Select(s => JobStatusFormatter.ToJson(s.Status!))) + "]");
                return ExitCodes.Success;
            }

            if (statuses.Length == 0)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync("no jobs yet: mobilenet submit --source <container>/<prefix> --model <name>");
                return ExitCodes.Success;
            }

            await output.WriteLineAsync($"{"JOB",-28} {"STATE",-9} {"PROGRESS",-22} {"ERRORS",7} {"IMG/S",8} {"SUBMITTED (UTC)",-19} MODEL");
            foreach (var (entry, status, error) in statuses.OrderByDescending(s => s.e.SubmittedAt))
            {
                if (status is null)
                {
                    await output.WriteLineAsync($"{entry.JobId,-28} {"?",-9} {error}");
                    continue;
                }

                var processed = JobStatusFormatter.Processed(status);
                var percent = status.TotalImages > 0 ? 100.0 * processed / status.TotalImages : 0;
                var progress = string.Create(CultureInfo.InvariantCulture, $"{processed}/{status.TotalImages}{(status.ListingComplete ? "" : "+")} ({percent:0}%)");
                await output.WriteLineAsync(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{status.JobId,-28} {status.State,-9} {progress,-22} {status.Errors,7} {status.ImagesPerSecond,8:0.0} {status.SubmittedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} {status.Spec.ModelName}"));
            }

            return ExitCodes.Success;
        });
        return command;
    }

    public static Command CreateCancel()
    {
        var job = new Argument<string>("job") { Description = "job id" };
        var command = new Command("cancel", "Cancel a job: stops dispatching, running shards stop within seconds, finished results are kept.") { job };
        var cluster = new ClusterConnectionOptions(command);
        command.SetAction(async (ParseResult parse, CancellationToken ct) =>
        {
            var jobId = parse.GetValue(job)!;
            JobCalls.ValidateJobId(jobId);
            await using var connection = await ClusterConnection.ConnectAsync(cluster.Resolve(parse), ct);
            var status = await JobCalls.CancelAsync(connection.Client, jobId);
            var output = parse.InvocationConfiguration.Output;
            if (status.State == JobState.Cancelled)
            {
                await output.WriteLineAsync($"job {jobId} cancelled: {status.Labeled} labeled and {status.Errors} errors kept of {status.TotalImages} images");
                return ExitCodes.Success;
            }

            await output.WriteLineAsync($"job {jobId} had already ended: {status.State}");
            return ExitCodes.Success;
        });
        return command;
    }
}
