using MobileNet.Orleans.Contracts.Models;

namespace MobileNet.Orleans.Contracts.Jobs;

[GenerateSerializer, Alias("mobilenet.job-state")]
public enum JobState
{
    Pending,
    Running,
    Completed,
    Failed,
    Cancelled,
}

/// <summary>A snapshot of a job's progress, as <c>mobilenet status</c> shows it.</summary>
[GenerateSerializer, Immutable, Alias("mobilenet.job-status")]
public sealed record JobStatus
{
    [Id(0)] public required string JobId { get; init; }

    [Id(1)] public required JobState State { get; init; }

    [Id(2)] public required JobSpec Spec { get; init; }

    /// <summary>Images found so far; final once <see cref="ListingComplete"/>.</summary>
    [Id(3)] public long TotalImages { get; init; }

    [Id(4)] public bool ListingComplete { get; init; }

    [Id(5)] public long Labeled { get; init; }

    [Id(6)] public long Errors { get; init; }

    [Id(7)] public int ShardsTotal { get; init; }

    [Id(8)] public int ShardsDone { get; init; }

    [Id(9)] public int ShardsRunning { get; init; }

    [Id(10)] public int ShardsPending { get; init; }

    /// <summary>Shards that failed every attempt: their images are error rows.</summary>
    [Id(11)] public int ShardsFailed { get; init; }

    [Id(12)] public double ImagesPerSecond { get; init; }

    [Id(13)] public TimeSpan? Eta { get; init; }

    [Id(14)] public IReadOnlyList<SiloShare> Silos { get; init; } = [];

    [Id(15)] public DateTimeOffset SubmittedAt { get; init; }

    [Id(16)] public DateTimeOffset? StartedAt { get; init; }

    [Id(17)] public DateTimeOffset? EndedAt { get; init; }

    [Id(18)] public string? FailureReason { get; init; }

    /// <summary>Shards redone after a worker died, went silent or handed them back.</summary>
    [Id(19)] public int ShardsRedispatched { get; init; }

    /// <summary>Shards that failed every attempt (at most the first few), with the last reason.</summary>
    [Id(20)] public IReadOnlyList<ShardFailure> FailedShards { get; init; } = [];

    /// <summary>The model version the job uses (pinned at submit): its SHA-256 is in <c>summary.json</c>.</summary>
    [Id(21)] public PinnedModel? Model { get; init; }

    /// <summary>Why images could not be labeled, by error code (most frequent first), with a few example image names each.</summary>
    [Id(22)] public IReadOnlyList<ErrorClass> ErrorClasses { get; init; } = [];

    /// <summary>Labeled images in finished shards that met the job's review rule (<c>--review-below</c>, <c>--review-margin</c>).</summary>
    [Id(23)] public long ForReview { get; init; }

    /// <summary>With <c>--tag-blobs</c>: labeled images whose blob was left untagged (no room next to the user's tags, or the blob changed meanwhile).</summary>
    [Id(24)] public long TagsSkipped { get; init; }

    /// <summary>Images labeled (or error rows) in the last minute and hour; kept in the coordinator's memory.</summary>
    [Id(25)] public long LabeledLastMinute { get; init; }

    [Id(26)] public long LabeledLastHour { get; init; }

    /// <summary>For the most recent finished shard: seconds from its oldest blob's creation to its labels (null: not known).</summary>
    [Id(27)] public double? LagSeconds { get; init; }

    /// <summary>The largest such lag in the last hour.</summary>
    [Id(28)] public double? MaxLagLastHourSeconds { get; init; }

    /// <summary>For <c>--follow</c>: relisting rounds finished (each one committed into the ledger).</summary>
    [Id(29)] public int FollowRounds { get; init; }

    public bool IsTerminal => State is JobState.Completed or JobState.Failed or JobState.Cancelled;
}

/// <summary>How many images one silo has labeled for a job.</summary>
[GenerateSerializer, Immutable, Alias("mobilenet.silo-share")]
public sealed record SiloShare
{
    [Id(0)] public required string Silo { get; init; }

    [Id(1)] public long Labeled { get; init; }

    [Id(2)] public long Errors { get; init; }

    /// <summary>This silo's images per second over the coordinator's rate window (0 once the job ended).</summary>
    [Id(3)] public double ImagesPerSecond { get; init; }

    /// <summary>Cores of the silo's machine (or container limit), from its last usage report; 0 before any.</summary>
    [Id(4)] public int Cores { get; init; }

    /// <summary>Process CPU time the silo spent while labeling this job's images, from its last usage report.</summary>
    [Id(5)] public double CpuSeconds { get; init; }

    /// <summary>Images (labeled or error rows) that <see cref="CpuSeconds"/> covers.</summary>
    [Id(6)] public long AccountedImages { get; init; }
}

/// <summary>A shard that failed all its attempts; its images appear in the results as error rows with this reason.</summary>
[GenerateSerializer, Immutable, Alias("mobilenet.shard-failure")]
public sealed record ShardFailure
{
    [Id(0)] public required int ShardId { get; init; }

    [Id(1)] public int Attempts { get; init; }

    [Id(2)] public int Images { get; init; }

    [Id(3)] public required string Reason { get; init; }
}

/// <summary>A row of <c>mobilenet jobs</c>.</summary>
[GenerateSerializer, Immutable, Alias("mobilenet.job-entry")]
public sealed record JobEntry
{
    [Id(0)] public required string JobId { get; init; }

    [Id(1)] public DateTimeOffset SubmittedAt { get; init; }
}
