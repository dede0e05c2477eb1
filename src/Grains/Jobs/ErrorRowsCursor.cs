using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using MobileNet.Orleans.Contracts.Storage;

namespace MobileNet.Orleans.Grains.Jobs;

/// <summary>
/// The source of a retry job: the images of another job that ended as error rows (optionally only some error codes),
/// read from its result blobs in shard order, so a retry of a listing job is in name order like its parent. The
/// checkpoint is the shard to read next and the rows already taken from it.
/// </summary>
internal sealed class ErrorRowsCursor(BlobContainerClient container, BlobContainerClient source, BlobPath output, string parentJob, int shardCount, IReadOnlyCollection<string> codes, string? checkpoint) : SourceCursor
{
    private readonly Queue<(string Name, string ETag)> pending = new();
    private int shard = Parse(checkpoint).Shard;
    private int skip = Parse(checkpoint).Taken;
    private int taken;
    private bool loaded;

    public override string? Checkpoint => shard == 0 && taken == 0 ? null : string.Create(CultureInfo.InvariantCulture, $"{shard}:{taken}");

    public override async Task<SourceBatch> ReadAsync(int max, CancellationToken cancellationToken)
    {
        var names = new List<string>(Math.Max(0, max));
        var etags = new List<string>(names.Capacity);
        while (names.Count < max)
        {
            if (pending.Count == 0)
            {
                if (loaded)
                {
                    // This shard's rows are all taken: on to the next.
                    shard++;
                    taken = 0;
                    loaded = false;
                }

                if (shard >= shardCount)
                {
                    break;
                }

                await LoadAsync(cancellationToken);
                continue;
            }

            var (name, etag) = pending.Dequeue();
            names.Add(name);
            etags.Add(etag);
            taken++;
        }

        return new SourceBatch(names, shard >= shardCount || (pending.Count == 0 && loaded && shard == shardCount - 1)) { ETags = etags };
    }

    /// <summary>The code of an error row: the text before the first ':' (<c>not-an-image: ...</c>).</summary>
    public static string CodeOf(string error)
    {
        var colon = error.IndexOf(':', StringComparison.Ordinal);
        return (colon < 0 ? error : error[..colon]).Trim();
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        var blob = container.GetBlobClient(JobOutputLayout.ShardResult(output, parentJob, shard).Prefix);
        string text;
        try
        {
            text = (await blob.DownloadContentAsync(cancellationToken)).Value.Content.ToString();
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // A shard the parent never finished (it was cancelled): it has no error rows to retry.
            text = "";
        }

        var index = 0;
        var names = new List<string>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var row = JsonDocument.Parse(line);
            if (!row.RootElement.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.String)
            {
                continue;
            }

            if (codes.Count > 0 && !codes.Contains(CodeOf(error.GetString()!)))
            {
                continue;
            }

            if (index++ < skip)
            {
                continue;
            }

            names.Add(row.RootElement.GetProperty("image").GetString()!);
        }

        // Each image's ETag as it is now (what the retry labels), so an incremental ledger records the right version.
        var etags = new string[names.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, names.Count), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            try
            {
                etags[i] = ListingCheckpoint.NormalizeETag((await source.GetBlobClient(names[i]).GetPropertiesAsync(cancellationToken: ct)).Value.ETag.ToString());
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 400)
            {
                // Gone (it becomes a not-found row again), or a name storage cannot address.
                etags[i] = "";
            }
        });
        for (var i = 0; i < names.Count; i++)
        {
            pending.Enqueue((names[i], etags[i]));
        }

        taken = skip;
        skip = 0;
        loaded = true;
    }

    private static (int Shard, int Taken) Parse(string? checkpoint)
    {
        if (string.IsNullOrEmpty(checkpoint))
        {
            return (0, 0);
        }

        var colon = checkpoint.IndexOf(':', StringComparison.Ordinal);
        return (int.Parse(checkpoint[..colon], CultureInfo.InvariantCulture), int.Parse(checkpoint[(colon + 1)..], CultureInfo.InvariantCulture));
    }
}
