using System.Globalization;
using MobileNet.Orleans.Contracts.Jobs;

namespace MobileNet.Orleans.Contracts.Storage;

/// <summary>
/// Where a job's blobs live under its output location. Names are derived only from the job id and shard numbers,
/// never from image names, so a hostile image name can never place a blob outside the job's folder.
/// </summary>
public static class JobOutputLayout
{
    /// <summary><c>{prefix}/{jobId}/</c>: everything the job writes.</summary>
    public static string JobFolder(BlobPath output, string jobId)
    {
        ArgumentNullException.ThrowIfNull(output);
        JobId.Validate(jobId);
        var prefix = output.Prefix.TrimEnd('/');
        return prefix.Length == 0 ? $"{jobId}/" : $"{prefix}/{jobId}/";
    }

    /// <summary>Image names, one per line, of the group of shards that starts at <paramref name="shardId"/> (a lease names its byte range).</summary>
    public static BlobPath ShardManifest(BlobPath output, string jobId, int shardId) =>
        new() { Container = output.Container, Prefix = JobFolder(output, jobId) + "shards/" + ShardName(shardId) + ".txt" };

    /// <summary>For incremental jobs: the ETag of each name in the manifest group starting at <paramref name="shardId"/>, line for line.</summary>
    public static BlobPath ShardETags(BlobPath output, string jobId, int shardId) =>
        new() { Container = output.Container, Prefix = JobFolder(output, jobId) + "shards/" + ShardName(shardId) + ".etags" };

    /// <summary>Folder holding one JSONL result blob per shard (<c>mobilenet results</c> reads every blob under it).</summary>
    public static BlobPath ResultsFolder(BlobPath output, string jobId) =>
        new() { Container = output.Container, Prefix = JobFolder(output, jobId) + "results/" };

    /// <summary>The shard's JSONL results, written whole (a redone shard overwrites it, never duplicating rows).</summary>
    public static BlobPath ShardResult(BlobPath output, string jobId, int shardId) =>
        new() { Container = output.Container, Prefix = JobFolder(output, jobId) + "results/" + ShardName(shardId) + ".jsonl" };

    /// <summary>The job's final status as JSON (camelCase), written when the job ends.</summary>
    public static BlobPath Summary(BlobPath output, string jobId) =>
        new() { Container = output.Container, Prefix = JobFolder(output, jobId) + "summary.json" };

    private static string ShardName(int shardId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(shardId);
        return shardId.ToString("D6", CultureInfo.InvariantCulture);
    }
}
