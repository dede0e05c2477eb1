using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace MobileNet.Orleans.Grains.Storage;

/// <summary>
/// A shard's image names in blob storage: one JSON string per line, so any blob name (spaces, unicode, quotes,
/// even line breaks) survives the round trip unchanged.
/// </summary>
internal static class ShardManifestFile
{
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
        var names = new List<string>();
        foreach (var line in content.Value.Content.ToString().Split('\n'))
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
