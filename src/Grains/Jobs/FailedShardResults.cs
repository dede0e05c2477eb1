using System.Text;
using Azure.Storage.Blobs;
using MobileNet.Inference;
using MobileNet.Orleans.Grains.Storage;

namespace MobileNet.Orleans.Grains.Jobs;

/// <summary>
/// The results of a shard that failed every attempt: one error row per image (<c>shard-failed: reason</c>), so the
/// job's results still name every image exactly once.
/// </summary>
internal static class FailedShardResults
{
    public const string ErrorCode = "shard-failed";

    public static async Task WriteAsync(BlobClient manifest, ManifestRange range, BlobClient result, string reason, string? modelSha256, CancellationToken cancellationToken)
    {
        var names = await ShardManifestFile.ReadAsync(manifest, range, cancellationToken);
        var error = new ImageError(ErrorCode, reason);
        var text = new StringBuilder(names.Count * 96);
        foreach (var name in names)
        {
            text.Append(LabelingRecordFormat.ToJsonLine(LabelingRecord.Failed(name, error) with { Model = modelSha256 })).Append(LabelingRecordFormat.LineTerminator);
        }

        await result.UploadAsync(BinaryData.FromString(text.ToString()), overwrite: true, cancellationToken);
    }
}
