using System.CommandLine;
using MobileNet.Orleans.Client.Cluster;
using MobileNet.Orleans.Client.Jobs;
using MobileNet.Orleans.Client.Resilience;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Storage;

namespace MobileNet.Orleans.Client.Commands;

/// <summary>
/// <c>mobilenet retry &lt;job&gt; [--codes a,b]</c>: a new job over exactly the images of an ended job that became
/// error rows (optionally only those codes), with its source, output, model version and options. A retry of an
/// incremental job folds into the same ledger, so <c>results --latest</c> shows the retried rows.
/// </summary>
public static class RetryCommand
{
    public static Command Create()
    {
        var job = new Argument<string>("job") { Description = "the ended job whose error rows to label again" };
        var codes = new Option<string?>("--codes") { Description = "only error rows with these codes, comma-separated (e.g. not-found,read-failed; default: every error row)" };
        var wait = new Option<bool>("--wait") { Description = "show progress until the retry ends; exit 0 if it completed" };
        var command = new Command("retry", "Label again only the images a job could not label (its error rows).") { job, codes, wait };
        var cluster = new ClusterConnectionOptions(command);
        command.SetAction(async (ParseResult parse, CancellationToken ct) =>
        {
            var parentId = parse.GetValue(job)!;
            JobCalls.ValidateJobId(parentId);
            var codeList = (parse.GetValue(codes) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToArray();
            await using var connection = await ClusterConnection.ConnectAsync(cluster.Resolve(parse), ct);
            var parent = await JobCalls.GetStatusAsync(connection.Client, parentId);
            if (parent.Spec.ManifestBlob is not null)
            {
                throw new CliUsageException($"job {parentId} labeled a --manifest; retry covers listing jobs (their rows are in name order): submit a manifest of the failed images instead");
            }

            var spec = parent.Spec with { RetryOf = parentId, RetryCodes = codeList, MaxErrors = null };
            try
            {
                JobSpecValidation.Validate(spec);
            }
            catch (ArgumentException ex)
            {
                throw new CliUsageException(ex.Message);
            }

            var jobId = JobId.New(DateTimeOffset.UtcNow);
            JobStatus status;
            try
            {
                status = await ClientResiliencePipelines.Submit().ExecuteAsync(async _ => await connection.Client.GetGrain<IJobCoordinatorGrain>(jobId).SubmitAsync(spec), ct);
            }
            catch (ArgumentException ex)
            {
                throw new CliUsageException(ex.Message);
            }

            var error = parse.InvocationConfiguration.Error;
            await error.WriteLineAsync($"submitted {jobId}: retry of {parentId} ({parent.Errors} error rows{(codeList.Length > 0 ? $", codes {string.Join(',', codeList)}" : "")}), results {JobOutputLayout.ResultsFolder(spec.Output, jobId)}");
            if (parse.GetValue(wait))
            {
                status = await JobCalls.WatchAsync(connection.Client, jobId, JobWatchView.For(error), JobCalls.WatchPollInterval, JobCalls.WatchPatience, ct);
                await error.WriteLineAsync(JobCalls.Outcome(status));
            }

            await parse.InvocationConfiguration.Output.WriteLineAsync(jobId);
            return parse.GetValue(wait) ? JobCalls.ExitCodeOf(status) : ExitCodes.Success;
        });
        return command;
    }
}
