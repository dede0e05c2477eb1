using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace MobileNet.Orleans.Grains.Storage;

/// <summary>
/// A shard's image names in blob storage: one JSON string per line, so any blob name (spaces, unicode, quotes,
/// even line breaks) survives the round trip unchanged. Listing writes the names of several shards into one blob
/// (one storage call for many shards); each shard is a byte range of it.
/// </summary>
internal static class ShardManifestFile
{
    /// <summary>Writes the shards' names one after another; returns each shard's byte range in the blob.</summary>
    public static async Task<IReadOnlyList<ManifestRange>> WriteGroupAsync(BlobClient blob, IReadOnlyList<IReadOnlyList<string>> shards, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        var ranges = new List<ManifestRange>(shards.Count);
        foreach (var names in shards)
        {
            var start = buffer.Length;
            foreach (var name in names)
            {
                JsonSerializer.Serialize(buffer, name);
                buffer.WriteByte((byte)'\n');
            }

            ranges.Add(new ManifestRange(start, checked((int)(buffer.Length - start))));
        }

        // Overwrite: a re-listed group (coordinator moved mid-listing) starts at the same shard with the same names.
        await blob.UploadAsync(
            new BinaryData(buffer.GetBuffer().AsMemory(0, (int)buffer.Length)),
            new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "text/plain; charset=utf-8" } },
            cancellationToken);
        return ranges;
    }

    /// <summary>One shard's names: <paramref name="range"/> of the blob, or all of it when the range is empty.</summary>
    public static async Task<IReadOnlyList<string>> ReadAsync(BlobClient blob, ManifestRange range, CancellationToken cancellationToken)
    {
        if (range.Length <= 0)
        {
            return await ReadAsync(blob, cancellationToken);
        }

        var content = await blob.DownloadContentAsync(new BlobDownloadOptions { Range = new Azure.HttpRange(range.Offset, range.Length) }, cancellationToken);
        return Parse(blob, content.Value.Content.ToString());
    }

    public static async Task WriteAsync(BlobClient blob, IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        var text = new StringBuilder(names.Count * 48);
        foreach (var name in names)
        {
            text.Append(JsonSerializer.Serialize(name)).Append('\n');
        }

        // Overwrite: a re-listed shard (coordinator moved mid-listing) gets the same id and the same names.
        await blob.UploadAsync(
            BinaryData.FromString(text.ToString()),
            new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "text/plain; charset=utf-8" } },
            cancellationToken);
    }

    public static async Task<IReadOnlyList<string>> ReadAsync(BlobClient blob, CancellationToken cancellationToken)
    {
        var content = await blob.DownloadContentAsync(cancellationToken);
        return Parse(blob, content.Value.Content.ToString());
    }

    private static List<string> Parse(BlobClient blob, string text)
    {
        var names = new List<string>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0)
            {
                continue;
            }

            names.Add(JsonSerializer.Deserialize<string>(line) ?? throw new FormatException($"shard manifest {blob.Name} has a null entry"));
        }

        return names;
    }
}

/// <summary>A shard's bytes in a manifest blob; an empty range means the whole blob.</summary>
public readonly record struct ManifestRange(long Offset, int Length);
