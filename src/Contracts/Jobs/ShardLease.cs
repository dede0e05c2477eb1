using MobileNet.Orleans.Contracts.Models;
using MobileNet.Orleans.Contracts.Storage;

namespace MobileNet.Orleans.Contracts.Jobs;

/// <summary>Identifies one lease of one shard: a redone shard gets a new <see cref="LeaseId"/>, so stale reports are ignored.</summary>
[GenerateSerializer, Immutable, Alias("mobilenet.shard-lease-ref")]
public sealed record ShardLeaseRef
{
    [Id(0)] public required string JobId { get; init; }

    [Id(1)] public required int ShardId { get; init; }

    [Id(2)] public required Guid LeaseId { get; init; }

    /// <summary>The silo the lease was handed to (credited with the shard's images).</summary>
    [Id(3)] public string? Silo { get; init; }
}

/// <summary>Work handed to a silo: label the images named in <see cref="ManifestBlob"/>, write <see cref="ResultBlob"/>.</summary>
[GenerateSerializer, Immutable, Alias("mobilenet.shard-lease")]
public sealed record ShardLease
{
    [Id(0)] public required ShardLeaseRef Lease { get; init; }

    [Id(1)] public required int Attempt { get; init; }

    [Id(2)] public required int MaxAttempts { get; init; }

    /// <summary>Container holding the images.</summary>
    [Id(3)] public required string SourceContainer { get; init; }

    /// <summary>Blob (in the output container) listing this shard's image names, one per line (see <see cref="ManifestOffset"/>).</summary>
    [Id(4)] public required BlobPath ManifestBlob { get; init; }

    /// <summary>Blob the shard's JSONL results are written to; overwritten whole, so a redone shard never duplicates rows.</summary>
    [Id(5)] public required BlobPath ResultBlob { get; init; }

    [Id(6)] public required string ModelName { get; init; }

    [Id(7)] public required int TopK { get; init; }

    /// <summary>The worker must renew within this time or the shard is handed to another silo.</summary>
    [Id(8)] public required TimeSpan LeaseDuration { get; init; }

    [Id(9)] public int ImageCount { get; init; }

    /// <summary>Byte range of this shard's names in <see cref="ManifestBlob"/>, which holds several shards; length 0: the whole blob.</summary>
    [Id(10)] public long ManifestOffset { get; init; }

    [Id(11)] public int ManifestLength { get; init; }

    /// <summary>The model version pinned at submit (null only for jobs submitted before models were pinned).</summary>
    [Id(12)] public PinnedModel? Model { get; init; }

    /// <summary>Write blob index tags onto the shard's labeled source blobs (see <see cref="JobSpec.TagBlobs"/>).</summary>
    [Id(13)] public bool TagBlobs { get; init; }

    [Id(14)] public float? ReviewBelow { get; init; }

    [Id(15)] public float? ReviewMargin { get; init; }
}

/// <summary>Progress a worker reports while it holds a lease.</summary>
[GenerateSerializer, Immutable, Alias("mobilenet.shard-progress")]
public sealed record ShardProgress
{
    [Id(0)] public int Processed { get; init; }

    [Id(1)] public int Labeled { get; init; }

    [Id(2)] public int Errors { get; init; }

    /// <summary>On completion: the shard's error rows by code, with a few examples each (empty on renewals).</summary>
    [Id(3)] public IReadOnlyList<ErrorClass> ErrorClasses { get; init; } = [];

    /// <summary>Labeled images that met the job's review rule (low score or small margin); final at completion.</summary>
    [Id(4)] public int ForReview { get; init; }

    /// <summary>Labeled images whose blob could not be tagged (the user's own tags left no room, or the blob changed); final at completion.</summary>
    [Id(5)] public int TagsSkipped { get; init; }
}

/// <summary>The coordinator's answer to a renewal: go on, or stop (lease lost, job cancelled or failed).</summary>
[GenerateSerializer, Alias("mobilenet.lease-verdict")]
public enum LeaseVerdict
{
    Continue,
    Stop,
}
