using System.CommandLine;
using Azure.Storage.Blobs;
using MobileNet.Inference;
using MobileNet.Orleans.Client.Cluster;
using MobileNet.Orleans.Client.Jobs;
using MobileNet.Orleans.Client.Results;
using MobileNet.Orleans.Client.Results.Formats;
using MobileNet.Orleans.Contracts.Labels;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Storage;

namespace MobileNet.Orleans.Client.Commands;

/// <summary>
/// <c>mobilenet results &lt;job&gt;</c>: streams the job's shard result blobs (exactly <c>results/NNNNNN.jsonl</c> for
/// its shards, in shard order, a few downloaded ahead) into one file in the record format of <c>mobilenet classify</c>,
/// sorted by image name. A container listing job's shards are cut in listing order, so its rows pass straight
/// through (checked); a manifest job's rows are sorted with an external merge sort (<see cref="ResultMerger"/>).
/// Two rows for one image are an error. Memory stays bounded either way.
/// </summary>
public static class ResultsCommand
{
    public static Command Create()
    {
        var job = new Argument<string?>("job") { Description = "job id (omit with --latest)", Arity = ArgumentArity.ZeroOrOne };
        var partial = new Option<bool>("--partial") { Description = "write what is finished even though the job is still running" };
        var command = new Command("results", "Gather a job's results into one file: each image once, sorted by image name (two rows for one image are an error).") { job, partial };
        var output = new ResultOutputOptions(command);
        var latest = new LatestResultsOptions(command);
        var cluster = new ClusterConnectionOptions(command);
        command.SetAction(async (ParseResult parse, CancellationToken ct) =>
        {
            if (latest.IsRequested(parse))
            {
                if (parse.GetValue(job) is not null)
                {
                    throw new CliUsageException("give either a job id or --latest <source> --model <name>, not both");
                }

                return await LatestResultsCommand.RunAsync(parse, latest, output, cluster, ct);
            }

            var jobId = parse.GetValue(job) ?? throw new CliUsageException("results needs a job id (or --latest <source> --model <name>)");
            JobCalls.ValidateJobId(jobId);
            var settings = cluster.Resolve(parse);
            JobStatus status;
            ResultReadLinks links;
            await using (var connection = await ClusterConnection.ConnectAsync(settings, ct))
            {
                status = await JobCalls.GetStatusAsync(connection.Client, jobId);
                // Read-only links signed by the cluster for this job's result blobs: no storage key on the client.
                links = await connection.Client.GetGrain<IJobResultsGrain>(jobId).GetReadLinksAsync();
            }

            var error = parse.InvocationConfiguration.Error;
            if (!status.IsTerminal && !parse.GetValue(partial))
            {
                await error.WriteLineAsync($"error: job {jobId} is still {status.State} ({JobStatusFormatter.Processed(status)} of {status.TotalImages} images done); wait for it ('mobilenet watch {jobId}') or pass --partial");
                return ExitCodes.RuntimeFailure;
            }

            var spec = status.Spec;
            var target = output.Resolve(
                parse, settings.Storage, spec.Source.Container, links.Blobs.Count > 0 ? new Uri(links.Blobs[0]) : null, spec.TopK,
                new ReviewRule(spec.ReviewBelow, spec.ReviewMargin), BlobLabelTags.ModelVersion(spec.ModelName, status.Model?.Sha256));
            var folder = links.Folder;
            var reader = new ShardResultReader(links.Blobs)
            {
                // A finished job has every shard's blob; a running one (--partial) only those done so far.
                AllowMissing = status.State != JobState.Completed,
            };
            RecordCounts counts;
            try
            {
                var records = JobResultRecords.ReadAsync(reader, status, ct).Select(r => (r, jobId));
                counts = await ResultOutput.WriteAsync(records, target, parse.InvocationConfiguration.Output, ct);
            }
            catch (Exception ex) when (ex is DuplicateResultException or InvalidDataException or FormatException)
            {
                await error.WriteLineAsync($"error: results of job {jobId} under {folder}: {ex.Message}");
                return ExitCodes.RuntimeFailure;
            }

            var read = counts.Labeled + counts.Errors;
            var skipped = reader.Missing > 0 ? $"; {reader.Missing} shard(s) not finished" : "";
            var what = target.ReviewOnly ? $"{counts.Written} image(s) for review of {read}" : $"{read} result(s)";
            await error.WriteLineAsync($"wrote {what} ({counts.Labeled} labeled, {counts.Errors} errors) for job {jobId} [{status.State}] to {target.Target?.FullName ?? "stdout"} as {target.Format.ToString().ToLowerInvariant()}{skipped}");
            if (status.State == JobState.Completed && status.ListingComplete && read != status.TotalImages)
            {
                await error.WriteLineAsync($"error: the job reports {status.TotalImages} images but its results hold {read}; results under {folder} are incomplete");
                return ExitCodes.RuntimeFailure;
            }

            return ExitCodes.Success;
        });
        return command;
    }
}
