using MobileNet.Orleans.Contracts.Storage;

namespace MobileNet.Orleans.Contracts.Jobs;

/// <summary>What a labeling job does: which images, which model, where the results go.</summary>
[GenerateSerializer, Immutable, Alias("mobilenet.job-spec")]
public sealed record JobSpec
{
    /// <summary>Images: every blob under this container/prefix (ignored when <see cref="ManifestBlob"/> is set).</summary>
    [Id(0)] public required BlobPath Source { get; init; }

    /// <summary>Optional blob in <see cref="BlobPath.Container"/> of <see cref="Source"/> listing image blob names, one per line.</summary>
    [Id(1)] public string? ManifestBlob { get; init; }

    /// <summary>Name of a model uploaded with <c>mobilenet models upload</c>.</summary>
    [Id(2)] public required string ModelName { get; init; }

    [Id(3)] public int TopK { get; init; } = 5;

    [Id(4)] public int ShardSize { get; init; } = JobDefaults.ShardSize;

    /// <summary>Where per-shard result blobs are written (<c>{Output}/{jobId}/...</c>).</summary>
    [Id(5)] public required BlobPath Output { get; init; }

    [Id(6)] public ErrorThreshold? MaxErrors { get; init; }

    [Id(7)] public int MaxShardAttempts { get; init; } = JobDefaults.MaxShardAttempts;
}

/// <summary>Defaults and limits shared by the client's validation and the coordinator's.</summary>
public static class JobDefaults
{
    public const int ShardSize = 64;
    public const int MaxShardSize = 10_000;
    public const int MaxTopK = 1000;
    public const int MaxShardAttempts = 3;

    /// <summary>Top-k x shard size: bounds the labels one shard result holds (and a worker keeps in memory).</summary>
    public const int MaxLabelsPerShard = 100_000;

    /// <summary>Longest line of a <c>--manifest</c> blob (a blob name is at most 1,024 characters).</summary>
    public const int MaxManifestLineLength = 1024;
}
