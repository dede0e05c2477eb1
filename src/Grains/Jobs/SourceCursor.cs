using System.Globalization;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using MobileNet.Orleans.Contracts.Jobs;

namespace MobileNet.Orleans.Grains.Jobs;

/// <summary>One read of the source: some image names, and whether the source is exhausted.</summary>
internal readonly record struct SourceBatch(IReadOnlyList<string> Names, bool End);

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

/// <summary>Every blob under container/prefix, via the listing API's continuation tokens.</summary>
internal sealed class ContainerListingCursor(BlobContainerClient container, string prefix, string? checkpoint) : SourceCursor
{
    // The listing API returns at most 5,000 names per call.
    private const int MaxPageSize = 5000;
    private string? continuation = checkpoint;
    private bool ended;

    public override string? Checkpoint => continuation;

    public override async Task<SourceBatch> ReadAsync(int max, CancellationToken cancellationToken)
    {
        if (ended)
        {
            return new SourceBatch([], true);
        }

        var options = new GetBlobsOptions { Prefix = prefix.Length == 0 ? null : prefix };
        var pages = container.GetBlobsAsync(options, cancellationToken).AsPages(continuation, Math.Clamp(max, 1, MaxPageSize));
        await foreach (var page in pages.WithCancellation(cancellationToken))
        {
            var names = new List<string>(page.Values.Count);
            foreach (var item in page.Values)
            {
                names.Add(item.Name);
            }

            continuation = string.IsNullOrEmpty(page.ContinuationToken) ? null : page.ContinuationToken;
            ended = continuation is null;
            return new SourceBatch(names, ended);
        }

        ended = true;
        continuation = null;
        return new SourceBatch([], true);
    }
}

/// <summary>A user-supplied manifest blob listing image names one per line; the checkpoint is the number of lines consumed.</summary>
internal sealed class ManifestBlobCursor(BlobClient manifest, string? checkpoint) : SourceCursor
{
    private readonly long skip = checkpoint is null ? 0 : long.Parse(checkpoint, CultureInfo.InvariantCulture);
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
                if (await reader.ReadLineAsync(cancellationToken) is null)
                {
                    break;
                }
            }
        }

        var names = new List<string>(max);
        while (names.Count < max)
        {
            var line = await reader.ReadLineAsync(cancellationToken);
            if (line is null)
            {
                ended = true;
                break;
            }

            consumed++;
            // Names are kept verbatim (leading spaces are legal in blob names); blank lines are skipped.
            if (!string.IsNullOrWhiteSpace(line))
            {
                names.Add(line);
            }
        }

        return new SourceBatch(names, ended);
    }

    public override ValueTask DisposeAsync()
    {
        reader?.Dispose();
        return ValueTask.CompletedTask;
    }
}
