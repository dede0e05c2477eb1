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

    /// <summary>Write blob index tags (label, score bucket, model, job) onto every labeled source blob, keeping the user's own.</summary>
    [Id(8)] public bool TagBlobs { get; init; }

    /// <summary>Images whose top-1 score is below this go to the review queue (null: no score rule).</summary>
    [Id(9)] public float? ReviewBelow { get; init; }

    /// <summary>Images whose top-1 minus top-2 score is below this go to the review queue (null: no margin rule).</summary>
    [Id(10)] public float? ReviewMargin { get; init; }

    /// <summary>Label only blobs that are new or changed (name + ETag) since the source's ledger for this model, and record them in it.</summary>
    [Id(11)] public bool Incremental { get; init; }

    /// <summary>Label exactly the images that ended as error rows of this job (its source and output), instead of listing the source.</summary>
    [Id(12)] public string? RetryOf { get; init; }

    /// <summary>With <see cref="RetryOf"/>: only error rows with one of these codes (empty: every error row).</summary>
    [Id(13)] public IReadOnlyList<string> RetryCodes { get; init; } = [];

    /// <summary>Keep the job open: relist the source this often and label what arrived (implies <see cref="Incremental"/>), until cancelled.</summary>
    [Id(14)] public TimeSpan? FollowEvery { get; init; }

    // Records compare lists by reference: a retried submit of the same spec must compare equal by content.
    public bool Equals(JobSpec? other) =>
        other is not null && Source == other.Source && ManifestBlob == other.ManifestBlob && ModelName == other.ModelName &&
        TopK == other.TopK && ShardSize == other.ShardSize && Output == other.Output && MaxErrors == other.MaxErrors &&
        MaxShardAttempts == other.MaxShardAttempts && TagBlobs == other.TagBlobs && ReviewBelow == other.ReviewBelow &&
        ReviewMargin == other.ReviewMargin && Incremental == other.Incremental && RetryOf == other.RetryOf &&
        RetryCodes.SequenceEqual(other.RetryCodes, StringComparer.Ordinal) && FollowEvery == other.FollowEvery;

    public override int GetHashCode() => HashCode.Combine(Source, ManifestBlob, ModelName, Output, RetryOf);
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
