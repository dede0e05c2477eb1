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
internal sealed class ErrorRowsCursor(BlobContainerClient container, BlobPath output, string parentJob, int shardCount, IReadOnlyCollection<string> codes, string? checkpoint) : SourceCursor
{
    private readonly Queue<string> pending = new();
    private int shard = Parse(checkpoint).Shard;
    private int skip = Parse(checkpoint).Taken;
    private int taken;
    private bool loaded;

    public override string? Checkpoint => shard == 0 && taken == 0 ? null : string.Create(CultureInfo.InvariantCulture, $"{shard}:{taken}");

    public override async Task<SourceBatch> ReadAsync(int max, CancellationToken cancellationToken)
    {
        var names = new List<string>(Math.Max(0, max));
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

            names.Add(pending.Dequeue());
            taken++;
        }

        return new SourceBatch(names, shard >= shardCount || (pending.Count == 0 && loaded && shard == shardCount - 1));
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

            pending.Enqueue(row.RootElement.GetProperty("image").GetString()!);
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
