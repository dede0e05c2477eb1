using System.CommandLine;
using System.Text;
using System.Threading.Channels;
using Azure.Storage.Blobs;
using MobileNet.Inference;
using MobileNet.Orleans.Client.Cluster;
using MobileNet.Orleans.Client.Jobs;
using MobileNet.Orleans.Client.Results;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Storage;

namespace MobileNet.Orleans.Client.Commands;

/// <summary>
/// <c>mobilenet results &lt;job&gt;</c>: streams every shard result blob of a job into one file, each image exactly
/// once, sorted by image name, in the same record format as <c>mobilenet classify</c>. Memory stays bounded
/// (external merge sort, see <see cref="ResultMerger"/>).
/// </summary>
public static class ResultsCommand
{
    /// <summary>Shard blobs downloaded at once.</summary>
    private const int DownloadParallelism = 8;

    public static Command Create()
    {
        var job = new Argument<string>("job") { Description = "job id" };
        var format = new Option<string?>("--format") { Description = "csv or jsonl (default: from the -o file extension, else jsonl)" };
        var file = new Option<FileInfo?>("--output", "-o") { Description = "file to write (default: stdout); written to a temporary file and renamed when complete" };
        var partial = new Option<bool>("--partial") { Description = "write what is finished even though the job is still running" };
        var command = new Command("results", "Gather a job's results into one file: each image once, sorted by image name.") { job, format, file, partial };
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

            var blobs = links.Blobs.Select(link => new BlobClient(new Uri(link))).ToList();
            var folder = links.Folder;
            var merger = new ResultMerger();
            var counts = new RecordCounts();
            MergeSummary summary;
            if (target is null)
            {
                var stdout = parse.InvocationConfiguration.Output;
                summary = await WriteAsync(blobs, stdout, outputFormat, status.Spec.TopK, merger, counts, ct);
                await stdout.FlushAsync(ct);
            }
            else
            {
                var temp = target.FullName + ".partial-" + Environment.ProcessId;
                try
                {
                    await using (var writer = new StreamWriter(temp, append: false, new UTF8Encoding(false), bufferSize: 1 << 16))
                    {
                        summary = await WriteAsync(blobs, writer, outputFormat, status.Spec.TopK, merger, counts, ct);
                    }

                    File.Move(temp, target.FullName, overwrite: true);
                }
                finally
                {
                    File.Delete(temp);
                }
            }

            await error.WriteLineAsync($"wrote {summary.Written} result(s) ({counts.Labeled} labeled, {counts.Errors} errors) for job {jobId} [{status.State}] to {target?.FullName ?? "stdout"}{(summary.DuplicatesDropped > 0 ? $"; dropped {summary.DuplicatesDropped} duplicate row(s)" : "")}");
            if (status.State == JobState.Completed && status.ListingComplete && summary.Written != status.TotalImages)
            {
                await error.WriteLineAsync($"error: the job reports {status.TotalImages} images but its results hold {summary.Written}; results under {folder} are incomplete");
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

    private static async Task<MergeSummary> WriteAsync(IReadOnlyList<BlobClient> blobs, TextWriter writer, LabelingOutputFormat format, int topK, ResultMerger merger, RecordCounts counts, CancellationToken cancellationToken)
    {
        if (format == LabelingOutputFormat.Csv)
        {
            await writer.WriteAsync(LabelingRecordFormat.CsvHeader(topK) + LabelingRecordFormat.LineTerminator).ConfigureAwait(false);
        }

        return await merger.MergeAsync(
            ReadResultLinesAsync(blobs, cancellationToken),
            async (line, ct) =>
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
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every line of every given JSONL blob, downloading a few blobs at once.</summary>
    public static async IAsyncEnumerable<string> ReadResultLinesAsync(IReadOnlyList<BlobClient> blobs, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        // Bounded: at most DownloadParallelism blobs downloaded and a few waiting, so memory stays O(shard size).
        var channel = Channel.CreateBounded<string[]>(DownloadParallelism);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(
            async () =>
            {
                try
                {
                    await Parallel.ForEachAsync(blobs, new ParallelOptions { MaxDegreeOfParallelism = DownloadParallelism, CancellationToken = cts.Token }, async (blob, ct) =>
                    {
                        var content = await blob.DownloadContentAsync(ct).ConfigureAwait(false);
                        var lines = content.Value.Content.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                        await channel.Writer.WriteAsync(lines, ct).ConfigureAwait(false);
                    }).ConfigureAwait(false);
                    channel.Writer.Complete();
                }
#pragma warning disable CA1031 // Handed to the consumer, which rethrows it.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    channel.Writer.Complete(ex);
                }
            },
            cts.Token);
        try
        {
            await foreach (var lines in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                foreach (var line in lines)
                {
                    yield return line;
                }
            }
        }
        finally
        {
            await cts.CancelAsync().ConfigureAwait(false);
            try
            {
                await producer.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}
