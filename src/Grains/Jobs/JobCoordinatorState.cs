using MobileNet.Orleans.Contracts.Jobs;

namespace MobileNet.Orleans.Grains.Jobs;

/// <summary>
/// The coordinator's durable state: the spec, the listing position and one compact record per shard. It grows with
/// the number of shards, never with the number of images (the names live in per-shard manifest blobs).
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

    [Id(10)] public List<ShardRecord> Shards { get; set; } = [];

    [Id(11)] public int ShardsRedispatched { get; set; }

    /// <summary>The job is in the registry's active list (retried by housekeeping when storage was down at submit).</summary>
    [Id(12)] public bool Registered { get; set; }

    /// <summary>Summary blob written and registry told, once the job ended.</summary>
    [Id(13)] public bool EndRecorded { get; set; }
}

[GenerateSerializer, Alias("mobilenet.shard-status")]
public enum ShardStatus
{
    Pending,
    Leased,
    Done,
    Failed,
}

/// <summary>One shard: a few dozen bytes, whatever its image count.</summary>
[GenerateSerializer, Alias("mobilenet.shard-record")]
public sealed class ShardRecord
{
    [Id(0)] public int Id { get; set; }

    [Id(1)] public ShardStatus Status { get; set; }

    /// <summary>Attempts started (a lease counts; a drain hand-back does not).</summary>
    [Id(2)] public int Attempts { get; set; }

    [Id(3)] public Guid LeaseId { get; set; }

    /// <summary>Stored only as a hint: on reactivation every live lease gets a fresh full duration to renew.</summary>
    [Id(4)] public DateTimeOffset LeaseExpiresAt { get; set; }

    /// <summary>The silo holding or having completed the shard.</summary>
    [Id(5)] public string? Silo { get; set; }

    [Id(6)] public int Labeled { get; set; }

    [Id(7)] public int Errors { get; set; }

    [Id(8)] public int ImageCount { get; set; }

    [Id(9)] public string? LastError { get; set; }

    /// <summary>For a failed shard: its error rows are in its result blob.</summary>
    [Id(10)] public bool ErrorRowsWritten { get; set; }

    /// <summary>The last lease ids handed out for this shard (see <see cref="ShardLeaseHistory"/>).</summary>
    [Id(11)] public List<Guid> IssuedLeases { get; set; } = [];
}
