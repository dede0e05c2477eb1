using System.Globalization;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using MobileNet.Orleans.Contracts.Jobs;

namespace MobileNet.Orleans.Grains.Jobs;

/// <summary>One read of the source: some image names, and whether the source is exhausted.</summary>
internal readonly record struct SourceBatch(IReadOnlyList<string> Names, bool End)
{
    /// <summary>Each name's ETag (same order) where the cursor lists blobs; null for a manifest or a retry.</summary>
    public IReadOnlyList<string>? ETags { get; init; }

    /// <summary>Each name's creation time where the listing gives it (for the label lag of <c>--follow</c>).</summary>
    public IReadOnlyList<DateTimeOffset?>? Created { get; init; }
}

/// <summary>
/// Reads a job's image names page by page. <see cref="Checkpoint"/> marks the position after the last batch returned,
/// so a coordinator that stores it when a shard is cut can resume listing there after it moves to another silo.
/// </summary>
internal abstract class SourceCursor : IAsyncDisposable
{
    /// <summary>Position after the last batch returned; null at the start or at the end.</summary>
    public abstract string? Checkpoint { get; }

    /// <summary>Returns at most <paramref name="max"/> names (one storage call).</summary>
    public abstract Task<SourceBatch> ReadAsync(int max, CancellationToken cancellationToken);

    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public static SourceCursor Open(BlobServiceClient service, JobSpec spec, string? checkpoint)
    {
        var container = service.GetBlobContainerClient(spec.Source.Container);
        return spec.ManifestBlob is { } manifest
            ? new ManifestBlobCursor(container.GetBlobClient(manifest), checkpoint)
            : new ContainerListingCursor(container, spec.Source.Prefix, checkpoint);
    }
}

/// <summary>
/// Every blob under container/prefix, read a whole listing page (up to 5,000 names) per storage call and handed out in
/// batches as small as the caller asks. The checkpoint names the page (its continuation token) and the last name
/// handed out from it, so a resumed listing skips exactly what was already taken, even mid-page.
/// </summary>
internal sealed class ContainerListingCursor : SourceCursor
{
    // The listing API returns at most 5,000 names per call.
    internal const int MaxPageSize = 5000;

    private readonly BlobContainerClient container;
    private readonly string prefix;
    private readonly int pageSize;
    private readonly Queue<(string Name, string ETag, DateTimeOffset? Created)> page = new();
    private string? pageToken;
    private string? nextToken;
    private string? lastTaken;
    private string? resumeAfter;
    private bool lastPage;

    public ContainerListingCursor(BlobContainerClient container, string prefix, string? checkpoint, int pageSize = MaxPageSize)
    {
        this.container = container;
        this.prefix = prefix;
        this.pageSize = Math.Clamp(pageSize, 1, MaxPageSize);
        (nextToken, resumeAfter) = ListingCheckpoint.Parse(checkpoint);
    }

    public override string? Checkpoint => page.Count > 0
        ? ListingCheckpoint.Format(pageToken, lastTaken)
        : lastPage ? null : ListingCheckpoint.Format(nextToken, resumeAfter);

    public override async Task<SourceBatch> ReadAsync(int max, CancellationToken cancellationToken)
    {
        if (page.Count == 0 && !lastPage)
        {
            await ReadPageAsync(cancellationToken);
        }

        var names = new List<string>(Math.Min(Math.Max(max, 0), page.Count));
        var etags = new List<string>(names.Capacity);
        var created = new List<DateTimeOffset?>(names.Capacity);
        while (names.Count < max && page.TryDequeue(out var item))
        {
            names.Add(item.Name);
            etags.Add(item.ETag);
            created.Add(item.Created);
            lastTaken = item.Name;
        }

        return new SourceBatch(names, page.Count == 0 && lastPage) { ETags = etags, Created = created };
    }

    private async Task ReadPageAsync(CancellationToken cancellationToken)
    {
        pageToken = nextToken;
        lastTaken = null;
        var options = new GetBlobsOptions { Prefix = prefix.Length == 0 ? null : prefix };
        var pages = container.GetBlobsAsync(options, cancellationToken).AsPages(pageToken, pageSize);
        var names = new List<string>();
        var etags = new List<string>();
        var created = new List<DateTimeOffset?>();
        string? continuation = null;
        await foreach (var result in pages.WithCancellation(cancellationToken))
        {
            foreach (var item in result.Values)
            {
                names.Add(item.Name);
                etags.Add(ListingCheckpoint.NormalizeETag(item.Properties.ETag?.ToString()));
                created.Add(item.Properties.CreatedOn);
            }

            continuation = string.IsNullOrEmpty(result.ContinuationToken) ? null : result.ContinuationToken;
            break;
        }

        nextToken = continuation;
        lastPage = continuation is null;
        var start = 0;
        if (resumeAfter is { } after)
        {
            // Resuming mid-page: skip what was handed out before. Listing order is by name, so if that name has been
            // deleted since, everything up to it still goes.
            var index = names.IndexOf(after);
            start = index >= 0 ? index + 1 : names.Count(n => string.CompareOrdinal(n, after) <= 0);
            lastTaken = after;
            resumeAfter = null;
        }

        for (var i = start; i < names.Count; i++)
        {
            page.Enqueue((names[i], etags[i], created[i]));
        }
    }
}

/// <summary>A container listing position: a page's continuation token, and the last name taken from that page.</summary>
internal static class ListingCheckpoint
{
    private const char Separator = '\n';

    /// <summary>An ETag as the ledger stores it: listings give it bare, response headers quoted.</summary>
    public static string NormalizeETag(string? etag) => etag?.Trim().Trim('"') ?? "";

    public static string? Format(string? token, string? lastTaken) =>
        token is null && lastTaken is null ? null : $"{token}{Separator}{lastTaken}";

    public static (string? Token, string? LastTaken) Parse(string? checkpoint)
    {
        if (string.IsNullOrEmpty(checkpoint))
        {
            return (null, null);
        }

        // Continuation tokens never hold a line feed (the name after the first one may); a checkpoint without one
        // is a bare token, as stored by an earlier version that read one shard per listing call.
        var split = checkpoint.IndexOf(Separator, StringComparison.Ordinal);
        if (split < 0)
        {
            return (checkpoint, null);
        }

        var token = checkpoint[..split];
        var last = checkpoint[(split + 1)..];
        return (token.Length == 0 ? null : token, last.Length == 0 ? null : last);
    }
}

/// <summary>A <c>--manifest</c> blob the job cannot use (a line too long, a name outside the storage scope): the job fails with this reason.</summary>
internal sealed class InvalidManifestException(string message) : Exception(message);

/// <summary>
/// A user-supplied manifest blob listing image names one per line; the checkpoint is the number of lines consumed.
/// Lines are read with a bound (<see cref="JobDefaults.MaxManifestLineLength"/>): a manifest of one endless line must
/// not be read into memory whole.
/// </summary>
internal sealed class ManifestBlobCursor(BlobClient manifest, string? checkpoint) : SourceCursor
{
    private readonly long skip = checkpoint is null ? 0 : long.Parse(checkpoint, CultureInfo.InvariantCulture);
    private readonly char[] buffer = new char[8192];
    private readonly System.Text.StringBuilder line = new(JobDefaults.MaxManifestLineLength);
    private int bufferStart;
    private int bufferEnd;
    private StreamReader? reader;
    private long consumed;
    private bool ended;

    public override string? Checkpoint => consumed == 0 ? null : consumed.ToString(CultureInfo.InvariantCulture);

    public override async Task<SourceBatch> ReadAsync(int max, CancellationToken cancellationToken)
    {
        if (ended)
        {
            return new SourceBatch([], true);
        }

        if (reader is null)
        {
            reader = new StreamReader(await manifest.OpenReadAsync(cancellationToken: cancellationToken));
            for (consumed = 0; consumed < skip; consumed++)
            {
                if (await ReadLineAsync(consumed + 1, cancellationToken) is null)
                {
                    break;
                }
            }
        }

        var names = new List<string>(max);
        while (names.Count < max)
        {
            var text = await ReadLineAsync(consumed + 1, cancellationToken);
            if (text is null)
            {
                ended = true;
                break;
            }

            consumed++;
            // Names are kept verbatim (leading spaces are legal in blob names); blank lines are skipped.
            if (!string.IsNullOrWhiteSpace(text))
            {
                names.Add(text);
            }
        }

        return new SourceBatch(names, ended);
    }

    /// <summary>The next line without its terminator (\n, \r\n or \r), or null at the end.</summary>
    private async Task<string?> ReadLineAsync(long number, CancellationToken cancellationToken)
    {
        line.Clear();
        var any = false;
        while (true)
        {
            if (bufferStart == bufferEnd)
            {
                bufferStart = 0;
                bufferEnd = await reader!.ReadAsync(buffer, cancellationToken);
                if (bufferEnd == 0)
                {
                    return any ? line.ToString() : null;
                }
            }

            any = true;
            var c = buffer[bufferStart++];
            if (c == '\n')
            {
                return line.ToString();
            }

            if (c == '\r')
            {
                if (bufferStart == bufferEnd)
                {
                    bufferStart = 0;
                    bufferEnd = await reader!.ReadAsync(buffer, cancellationToken);
                }

                if (bufferStart < bufferEnd && buffer[bufferStart] == '\n')
                {
                    bufferStart++;
                }

                return line.ToString();
            }

            if (line.Length == JobDefaults.MaxManifestLineLength)
            {
                throw new InvalidManifestException(string.Create(CultureInfo.InvariantCulture,
                    $"manifest '{manifest.Name}' line {number} is longer than {JobDefaults.MaxManifestLineLength} characters (a blob name is at most 1,024)"));
            }

            line.Append(c);
        }
    }

    public override ValueTask DisposeAsync()
    {
        reader?.Dispose();
        return ValueTask.CompletedTask;
    }
}
