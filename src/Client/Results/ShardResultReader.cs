using Azure;
using Azure.Storage.Blobs;
using MobileNet.Orleans.Contracts.Storage;

namespace MobileNet.Orleans.Client.Results;

/// <summary>One line of a shard's result blob.</summary>
public readonly record struct ShardLine(int ShardId, string Line);

/// <summary>
/// Reads a job's results as exactly <c>results/NNNNNN.jsonl</c> for shard ids 0..N-1 (nothing else under the job's
/// prefix is read), in shard order, downloading at most <see cref="Prefetch"/> blobs ahead of the one being read, so
/// memory is bounded by a few shards whatever the job's size.
/// </summary>
public sealed class ShardResultReader
{
    private readonly Func<int, BlobClient> blobOf;
    private readonly Func<int, string> describe;

    /// <summary>Reads with a storage client of the caller's own (tests, tools holding a key).</summary>
    public ShardResultReader(BlobServiceClient service, BlobPath output, string jobId)
    {
        ArgumentNullException.ThrowIfNull(service);
        var container = service.GetBlobContainerClient(output.Container);
        blobOf = id => container.GetBlobClient(JobOutputLayout.ShardResult(output, jobId, id).Prefix);
        describe = id => JobOutputLayout.ShardResult(output, jobId, id).ToString();
    }

    /// <summary>
    /// Reads through one read-only link per shard id, in shard order, as the cluster signs them. Each link becomes a
    /// client only when its shard is read: a client holds its own pipeline (kilobytes), and a 1,000,000-image job has
    /// 15,625 shards.
    /// </summary>
    public ShardResultReader(IReadOnlyList<string> shardLinks)
    {
        ArgumentNullException.ThrowIfNull(shardLinks);
        Uri LinkOf(int id) => id < shardLinks.Count ? new Uri(shardLinks[id]) : throw new InvalidDataException($"no read link for shard {id}: the cluster signed {shardLinks.Count}");
        blobOf = id => new BlobClient(LinkOf(id));
        describe = id =>
        {
            if (id >= shardLinks.Count)
            {
                return $"shard {id}";
            }

            var link = new BlobUriBuilder(LinkOf(id));
            return $"{link.BlobContainerName}/{link.BlobName}";
        };
    }

    public int Prefetch { get; init; } = 8;

    /// <summary>A missing blob is skipped (a running job's unfinished shard) instead of failing the read.</summary>
    public bool AllowMissing { get; init; }

    /// <summary>Shards whose blob was missing and skipped (only with <see cref="AllowMissing"/>).</summary>
    public int Missing { get; private set; }

    public async IAsyncEnumerable<ShardLine> ReadAsync(int shardCount, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(shardCount);
        // Downloads start in shard order and are read in shard order: the channel holds the tasks, so at most
        // Prefetch downloads run or wait ahead of the reader.
        var downloads = BoundedProducer.ReadAsync<Task<string[]?>>(
            Prefetch,
            async (writer, ct) =>
            {
                for (var id = 0; id < shardCount; id++)
                {
                    await writer.WriteAsync(DownloadAsync(blobOf(id), ct), ct).ConfigureAwait(false);
                }
            },
            ObserveAsync,
            cancellationToken);
        var shardId = 0;
        await foreach (var download in downloads.ConfigureAwait(false))
        {
            var lines = await download.ConfigureAwait(false);
            if (lines is null)
            {
                if (!AllowMissing)
                {
                    throw new InvalidDataException($"result blob of shard {shardId} ({describe(shardId)}) is missing: the job's results are incomplete");
                }

                Missing++;
            }
            else
            {
                foreach (var line in lines)
                {
                    yield return new ShardLine(shardId, line);
                }
            }

            shardId++;
        }
    }

    /// <summary>A download the reader abandoned: its outcome no longer matters, but it must not fault unobserved.</summary>
    private static async Task ObserveAsync(Task<string[]?> download)
    {
        try
        {
            await download.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Abandoned downloads: their outcome no longer matters.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private static async Task<string[]?> DownloadAsync(BlobClient blob, CancellationToken cancellationToken)
    {
        try
        {
            var content = await blob.DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            return content.Value.Content.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }
}

/// <summary>Two result rows name the same image: a bug or tampering, never resolved by dropping one.</summary>
public sealed class DuplicateResultException(string image, string where) : Exception($"image '{image}' has two result rows ({where}); the results are not trustworthy");

/// <summary>
/// Passes through result lines that are already in image-name order (a container listing job's shards, cut in
/// listing order), checking as it goes: a repeated image is a <see cref="DuplicateResultException"/>, a line out of
/// order an <see cref="InvalidDataException"/>. Constant memory.
/// </summary>
public static class ListingOrderCheck
{
    public static async IAsyncEnumerable<string> CheckAsync(IAsyncEnumerable<ShardLine> lines, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lines);
        string? previous = null;
        var previousShard = -1;
        await foreach (var (shardId, line) in lines.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var image = RecordKey.Of(line).Image;
            if (previous is not null)
            {
                if (string.Equals(previous, image, StringComparison.Ordinal))
                {
                    throw new DuplicateResultException(image, previousShard == shardId ? $"twice in shard {shardId}" : $"in shards {previousShard} and {shardId}");
                }

                // Listings are ordered by name; storage services differ in UTF-16 versus code point order, so either holds.
                if (string.CompareOrdinal(previous, image) > 0 && CodePointOrder.Compare(previous, image) > 0)
                {
                    throw new InvalidDataException($"result rows are not in listing order: '{image}' (shard {shardId}) follows '{previous}' (shard {previousShard})");
                }
            }

            previous = image;
            previousShard = shardId;
            yield return line;
        }
    }
}

/// <summary>Compares strings by Unicode code point (the order of their UTF-8 bytes).</summary>
public static class CodePointOrder
{
    public static int Compare(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var x = a.EnumerateRunes().GetEnumerator();
        var y = b.EnumerateRunes().GetEnumerator();
        while (true)
        {
            var hasX = x.MoveNext();
            var hasY = y.MoveNext();
            if (!hasX || !hasY)
            {
                return hasX.CompareTo(hasY);
            }

            var byRune = x.Current.Value.CompareTo(y.Current.Value);
            if (byRune != 0)
            {
                return byRune;
            }
        }
    }
}
