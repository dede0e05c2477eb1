using System.CommandLine;
using System.Text;
using System.Threading.Channels;
using Azure.Storage.Blobs;
using MobileNet.Inference;
using MobileNet.Inference.Files;
using MobileNet.Orleans.Client.Cluster;
using MobileNet.Orleans.Client.Jobs;
using MobileNet.Orleans.Client.Results;
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
        var job = new Argument<string>("job") { Description = "job id" };
        var format = new Option<string?>("--format") { Description = "csv or jsonl (default: from the -o file extension, else jsonl)" };
        var file = new Option<FileInfo?>("--output", "-o") { Description = "file to write (default: stdout); written to a temporary file and renamed when complete" };
        var partial = new Option<bool>("--partial") { Description = "write what is finished even though the job is still running" };
        var command = new Command("results", "Gather a job's results into one file: each image once, sorted by image name (two rows for one image are an error).") { job, format, file, partial };
        var cluster = new ClusterConnectionOptions(command);
        command.SetAction(async (ParseResult parse, CancellationToken ct) =>
        {
            var jobId = parse.GetValue(job)!;
            JobCalls.ValidateJobId(jobId);
            var target = parse.GetValue(file);
            var outputFormat = ResolveFormat(parse.GetValue(format), target);
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

            var folder = links.Folder;
            var reader = new ShardResultReader(links.Blobs.Select(link => new BlobClient(new Uri(link))).ToList())
            {
                // A finished job has every shard's blob; a running one (--partial) only those done so far.
                AllowMissing = status.State != JobState.Completed,
            };
            var counts = new RecordCounts();
            try
            {
                if (target is null)
                {
                    var stdout = parse.InvocationConfiguration.Output;
                    await WriteAsync(reader, status, stdout, outputFormat, counts, ct);
                    await stdout.FlushAsync(ct);
                }
                else
                {
                    await AtomicFile.WriteTextAsync(target.FullName, (writer, token) => WriteAsync(reader, status, writer, outputFormat, counts, token), ct);
                }
            }
            catch (Exception ex) when (ex is DuplicateResultException or InvalidDataException or FormatException)
            {
                await error.WriteLineAsync($"error: results of job {jobId} under {folder}: {ex.Message}");
                return ExitCodes.RuntimeFailure;
            }

            var written = counts.Labeled + counts.Errors;
            var skipped = reader.Missing > 0 ? $"; {reader.Missing} shard(s) not finished" : "";
            await error.WriteLineAsync($"wrote {written} result(s) ({counts.Labeled} labeled, {counts.Errors} errors) for job {jobId} [{status.State}] to {target?.FullName ?? "stdout"}{skipped}");
            if (status.State == JobState.Completed && status.ListingComplete && written != status.TotalImages)
            {
                await error.WriteLineAsync($"error: the job reports {status.TotalImages} images but its results hold {written}; results under {folder} are incomplete");
                return ExitCodes.RuntimeFailure;
            }

            return ExitCodes.Success;
        });
        return command;
    }

    public static LabelingOutputFormat ResolveFormat(string? format, FileInfo? target)
    {
        if (format is not null)
        {
            try
            {
                return LabelingRecordFormat.ParseFormat(format);
            }
            catch (FormatException ex)
            {
                throw new CliUsageException($"--format: {ex.Message}");
            }
        }

        return target is not null && target.Extension.Equals(".csv", StringComparison.OrdinalIgnoreCase) ? LabelingOutputFormat.Csv : LabelingOutputFormat.Jsonl;
    }

    private sealed class RecordCounts
    {
        public long Labeled { get; set; }

        public long Errors { get; set; }
    }

    private static async Task WriteAsync(ShardResultReader reader, JobStatus status, TextWriter writer, LabelingOutputFormat format, RecordCounts counts, CancellationToken cancellationToken)
    {
        var topK = status.Spec.TopK;
        if (format == LabelingOutputFormat.Csv)
        {
            await writer.WriteAsync(LabelingRecordFormat.CsvHeader(topK) + LabelingRecordFormat.LineTerminator).ConfigureAwait(false);
        }

        async ValueTask WriteLineAsync(string line, CancellationToken ct)
        {
            var record = LabelingRecordFormat.ParseJsonLine(line);
            if (record.Succeeded)
            {
                counts.Labeled++;
            }
            else
            {
                counts.Errors++;
            }

            await writer.WriteAsync(LabelingRecordFormat.FormatLine(record, format, topK) + LabelingRecordFormat.LineTerminator).ConfigureAwait(false);
        }

        var lines = reader.ReadAsync(status.ShardsTotal, cancellationToken);
        if (status.Spec.ManifestBlob is not null)
        {
            // A manifest lists images in any order: sort.
            await new ResultMerger().MergeAsync(Lines(lines, cancellationToken), WriteLineAsync, cancellationToken).ConfigureAwait(false);
            return;
        }

        await foreach (var line in ListingOrderCheck.CheckAsync(lines, cancellationToken).ConfigureAwait(false))
        {
            await WriteLineAsync(line, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async IAsyncEnumerable<string> Lines(IAsyncEnumerable<ShardLine> lines, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var line in lines.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return line.Line;
        }
    }
}
