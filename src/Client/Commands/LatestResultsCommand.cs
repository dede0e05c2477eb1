using System.CommandLine;
using System.Runtime.CompilerServices;
using Azure.Storage.Blobs;
using MobileNet.Inference;
using MobileNet.Orleans.Client.Cluster;
using MobileNet.Orleans.Client.Results;
using MobileNet.Orleans.Client.Storage;
using MobileNet.Orleans.Contracts.Labels;
using MobileNet.Orleans.Contracts.Ledger;

namespace MobileNet.Orleans.Client.Commands;

/// <summary>The <c>results --latest &lt;source&gt; --model &lt;name&gt;</c> options.</summary>
public sealed class LatestResultsOptions
{
    private readonly Option<string?> latest = new("--latest") { Description = "the newest label of every blob under this container/prefix, across its incremental jobs and their retries (with --model)" };
    private readonly Option<string?> model = new("--model") { Description = "with --latest: the model whose ledger to read (its current version)" };

    public LatestResultsOptions(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(latest);
        command.Options.Add(model);
    }

    public bool IsRequested(ParseResult parse) => parse.GetValue(latest) is not null || parse.GetValue(model) is not null;

    public (string Source, string Model) Resolve(ParseResult parse)
    {
        var source = BlobPaths.ParseOption("--latest", parse.GetValue(latest));
        var name = parse.GetValue(model);
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new CliUsageException("--latest needs --model <name>: each model version has its own ledger");
        }

        // The same folder form submit gives the job's source, so the ledger is found under the same key.
        return ((source with { Prefix = BlobPaths.FolderPrefix(source) }).ToString(), name.Trim());
    }
}

/// <summary>
/// Writes the newest label of every blob a source's ledger records, each blob once, in name order: the ledger's
/// entries say which job labeled each blob last; every job's rows are read in name order alongside (rows of a job
/// that a newer job superseded are skipped). Memory holds a few shards per job.
/// </summary>
public static class LatestResultsCommand
{
    public static async Task<int> RunAsync(ParseResult parse, LatestResultsOptions latest, ResultOutputOptions output, ClusterConnectionOptions cluster, CancellationToken ct)
    {
        var (source, model) = latest.Resolve(parse);
        if (output.ReviewOnly(parse))
        {
            throw new CliUsageException("--review reads one job's review rule: use 'mobilenet results <job> --review'");
        }

        var settings = cluster.Resolve(parse);
        LatestResultLinks links;
        await using (var connection = await ClusterConnection.ConnectAsync(settings, ct))
        {
            try
            {
                links = await connection.Client.GetGrain<ILatestResultsGrain>(source).GetLatestLinksAsync(model);
            }
            catch (Exception ex) when (ex is KeyNotFoundException or ArgumentException)
            {
                throw new CliUsageException(ex.Message);
            }
        }

        var blobBase = links.Jobs.SelectMany(j => j.Shards).Select(l => new Uri(l)).FirstOrDefault();
        var target = output.Resolve(parse, settings.Storage, links.Source.Container, blobBase, links.TopK, new ReviewRule(null, null), BlobLabelTags.ModelVersion(model, links.ModelSha256));
        var error = parse.InvocationConfiguration.Error;
        RecordCounts counts;
        try
        {
            counts = await ResultOutput.WriteAsync(ReadAsync(links, ct), target, parse.InvocationConfiguration.Output, ct);
        }
        catch (Exception ex) when (ex is DuplicateResultException or InvalidDataException or FormatException)
        {
            await error.WriteLineAsync($"error: newest results of {links.Source} ({model}): {ex.Message}");
            return ExitCodes.RuntimeFailure;
        }

        await error.WriteLineAsync($"wrote {counts.Written} result(s) ({counts.Labeled} labeled, {counts.Errors} errors) for {links.Source} with {model} from {links.Jobs.Count} job(s) to {target.Target?.FullName ?? "stdout"} as {target.Format.ToString().ToLowerInvariant()}");
        if (counts.Written != links.Entries)
        {
            await error.WriteLineAsync($"error: the ledger records {links.Entries} blobs but {counts.Written} rows were written");
            return ExitCodes.RuntimeFailure;
        }

        return ExitCodes.Success;
    }

    /// <summary>For each ledger entry in name order, the row of the job it names; every job's rows are in name order too.</summary>
    public static async IAsyncEnumerable<(LabelingRecord Record, string JobId)> ReadAsync(LatestResultLinks links, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(links);
        var jobs = new Dictionary<string, IAsyncEnumerator<string>>(StringComparer.Ordinal);
        try
        {
            foreach (var job in links.Jobs)
            {
                var reader = new ShardResultReader(job.Shards) { Prefetch = 2 };
                jobs[job.JobId] = ListingOrderCheck.CheckAsync(reader.ReadAsync(job.Shards.Count, cancellationToken), cancellationToken).GetAsyncEnumerator(cancellationToken);
            }

            string? previous = null;
            foreach (var segment in links.Segments)
            {
                var text = (await new BlobClient(new Uri(segment)).DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value.Content.ToString();
                foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    var entry = LedgerEntryFormat.Parse(line);
                    if (previous is not null && string.CompareOrdinal(previous, entry.Name) >= 0)
                    {
                        throw new InvalidDataException($"ledger entries are not in name order: '{entry.Name}' follows '{previous}'");
                    }

                    previous = entry.Name;
                    if (!jobs.TryGetValue(entry.JobId, out var rows))
                    {
                        throw new InvalidDataException($"ledger entry '{entry.Name}' names job {entry.JobId}, which the ledger does not list");
                    }

                    yield return (await FindAsync(rows, entry, cancellationToken).ConfigureAwait(false), entry.JobId);
                }
            }
        }
        finally
        {
            foreach (var rows in jobs.Values)
            {
                await rows.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Advances a job's rows to the entry's image: rows before it were superseded by newer jobs.</summary>
    private static async Task<LabelingRecord> FindAsync(IAsyncEnumerator<string> rows, LedgerEntry entry, CancellationToken cancellationToken)
    {
        while (await rows.MoveNextAsync().ConfigureAwait(false))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var record = LabelingRecordFormat.ParseJsonLine(rows.Current);
            var order = string.CompareOrdinal(record.Image, entry.Name);
            if (order == 0)
            {
                return record;
            }

            if (order > 0)
            {
                break;
            }
        }

        throw new InvalidDataException($"the ledger says job {entry.JobId} labeled '{entry.Name}', but its results have no row for it");
    }
}
