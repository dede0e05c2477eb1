using System.CommandLine;
using System.Globalization;
using MobileNet.Orleans.Client.Cluster;
using MobileNet.Orleans.Client.Jobs;
using MobileNet.Orleans.Client.Terminal;
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
            if (parse.GetValue(json))
            {
                await output.WriteAsync(JobStatusFormatter.ToJson(status, price) + "\n");
                return ExitCodes.Success;
            }

            var console = CliConsole.For(output);
            console.Write(JobStatusFormatter.ToTable(status, console));
            await output.WriteAsync(JobCostFormatter.ToText(status, price));
            await output.FlushAsync(ct);
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
            var status = await JobCalls.WatchAsync(connection.Client, jobId, JobWatchView.For(error, nodePrice: price), TimeSpan.FromSeconds(seconds), JobCalls.WatchPatience, ct);
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

            var console = CliConsole.For(output);
            console.Write(JobStatusFormatter.ToJobsTable(statuses.OrderByDescending(s => s.e.SubmittedAt).Select(s => (s.e.JobId, s.Status, s.Error)), console));
            await output.FlushAsync(ct);
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
