using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Models;

namespace MobileNet.Orleans.Grains.Jobs.State;

/// <summary>
/// The coordinator's header: the spec, the job's state, the listing position and how many shards exist. Its size does
/// not depend on the job's size; the shard records live in <see cref="ShardSegmentRecord"/>s, written only when one of
/// their shards changes.
/// </summary>
[GenerateSerializer, Alias("mobilenet.job-coordinator-state")]
public sealed class JobCoordinatorState
{
    [Id(0)] public string? JobId { get; set; }

    [Id(1)] public JobSpec? Spec { get; set; }

    [Id(2)] public JobState State { get; set; }

    [Id(3)] public DateTimeOffset SubmittedAt { get; set; }

    [Id(4)] public DateTimeOffset? StartedAt { get; set; }

    [Id(5)] public DateTimeOffset? EndedAt { get; set; }

    [Id(6)] public string? FailureReason { get; set; }

    [Id(7)] public bool ListingComplete { get; set; }

    /// <summary>Where listing resumes: the source position right after the last shard cut.</summary>
    [Id(8)] public string? ListingCheckpoint { get; set; }

    /// <summary>Images in all shards cut so far.</summary>
    [Id(9)] public long ListedImages { get; set; }

    /// <summary>Shards cut so far; their records are durable in the segments before this count says so.</summary>
    [Id(10)] public int ShardCount { get; set; }

    [Id(11)] public int ShardsRedispatched { get; set; }

    /// <summary>The job is in the registry's active list (retried by housekeeping when storage was down at submit).</summary>
    [Id(12)] public bool Registered { get; set; }

    /// <summary>Summary blob written and registry told, once the job ended.</summary>
    [Id(13)] public bool EndRecorded { get; set; }

    /// <summary>Shards per segment, fixed for the job's life when it is submitted.</summary>
    [Id(14)] public int SegmentSize { get; set; }

    /// <summary>The model version read from the model store at submit; every lease carries it.</summary>
    [Id(15)] public PinnedModel? Model { get; set; }

    /// <summary>Error rows by code with a few examples (bounded), as of the last header write.</summary>
    [Id(16)] public List<ErrorClass>? ErrorClasses { get; set; }

    /// <summary>The silos' CPU time and images for the job (one entry per silo), as of the last header write.</summary>
    [Id(17)] public List<SiloJobUsage>? Usage { get; set; }

    /// <summary>The incremental ledger the job filters against and commits into (null: not incremental).</summary>
    [Id(18)] public string? LedgerId { get; set; }

    /// <summary>The job's images are in its ledger; only then is an incremental job completed.</summary>
    [Id(19)] public bool LedgerCommitted { get; set; }

    /// <summary>For a retry: how many shards the retried job has (their result blobs are the retry's source).</summary>
    [Id(20)] public int RetryShardCount { get; set; }

    /// <summary>For <c>--follow</c>: the current round has listed the whole source (its shards may still run).</summary>
    [Id(21)] public bool FollowRoundListed { get; set; }

    /// <summary>For <c>--follow</c>: the first shard of the current round.</summary>
    [Id(22)] public int FollowRoundStart { get; set; }

    /// <summary>For <c>--follow</c>: when the next round lists the source again.</summary>
    [Id(23)] public DateTimeOffset? FollowNextListing { get; set; }

    [Id(24)] public int FollowRounds { get; set; }
}

[GenerateSerializer, Alias("mobilenet.shard-status")]
public enum ShardStatus : byte
{
    Pending,
    Leased,
    Done,
    Failed,
}

/// <summary>
/// Shards <c>Index * size</c> to <c>Index * size + Shards.Count - 1</c>, as stored: one blob per segment, rewritten
/// whole when one of its shards changes, so a write costs the segment (bounded), never the job.
/// </summary>
[GenerateSerializer, Alias("mobilenet.shard-segment")]
public sealed class ShardSegmentRecord
{
    [Id(0)] public int Index { get; set; }

    /// <summary>Silo names used by the shards below (each stored once, shards refer to them by position).</summary>
    [Id(1)] public List<string> Silos { get; set; } = [];

    [Id(2)] public List<StoredShard> Shards { get; set; } = [];

    /// <summary>Labeled images of this segment's done shards that met the review rule.</summary>
    [Id(3)] public int ForReview { get; set; }

    /// <summary>Labeled images of this segment's done shards whose blob was left untagged.</summary>
    [Id(4)] public int TagsSkipped { get; set; }
}

/// <summary>One shard: a few dozen bytes, whatever its image count.</summary>
[GenerateSerializer, Alias("mobilenet.stored-shard")]
public sealed class StoredShard
{
    [Id(0)] public ShardStatus Status { get; set; }

    /// <summary>Attempts that counted (a lease counts; a hand-back, throttling or a dead silo does not).</summary>
    [Id(1)] public int Attempts { get; set; }

    /// <summary>Attempts lost to causes that are not the shard's fault (bounded, so a shard that kills silos ends).</summary>
    [Id(2)] public int FreeRetries { get; set; }

    /// <summary>Current lease of a leased shard (a reactivated coordinator still recognises its holder).</summary>
    [Id(3)] public Guid LeaseId { get; set; }

    /// <summary>Position in <see cref="ShardSegmentRecord.Silos"/> of the silo holding or having completed the shard; -1 for none.</summary>
    [Id(4)] public int Silo { get; set; } = -1;

    [Id(5)] public int Labeled { get; set; }

    [Id(6)] public int Errors { get; set; }

    [Id(7)] public int ImageCount { get; set; }

    [Id(8)] public string? LastError { get; set; }

    /// <summary>For a failed shard: its error rows are in its result blob.</summary>
    [Id(9)] public bool ErrorRowsWritten { get; set; }

    /// <summary>The first shard of the manifest blob holding this shard's names.</summary>
    [Id(10)] public int ManifestGroup { get; set; }

    /// <summary>Byte range of this shard's names in that blob (length 0: the whole blob).</summary>
    [Id(11)] public long ManifestOffset { get; set; }

    [Id(12)] public int ManifestLength { get; set; }
}
