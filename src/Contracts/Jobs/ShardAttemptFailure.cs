namespace MobileNet.Orleans.Contracts.Jobs;

/// <summary>Why a shard attempt failed, as the coordinator's attempt rules need it (never parsed out of the text).</summary>
[GenerateSerializer, Alias("mobilenet.shard-failure-kind")]
public enum ShardFailureKind
{
    /// <summary>The shard's own work failed (bad model, pipeline error, crash): uses an attempt.</summary>
    Processing,

    /// <summary>A storage call failed after the worker's retries: uses an attempt unless the coordinator saw storage fail too.</summary>
    Storage,

    /// <summary>Storage refused for load (HTTP 429 or 503) after the worker's retries: retried without using an attempt.</summary>
    StorageThrottled,

    /// <summary>The model could not be fetched, verified or loaded on this silo: uses an attempt.</summary>
    ModelUnavailable,

    /// <summary>A call timed out: uses an attempt.</summary>
    Timeout,
}

/// <summary>A worker's report that one attempt at a shard failed.</summary>
[GenerateSerializer, Immutable, Alias("mobilenet.shard-attempt-failure")]
public sealed record ShardAttemptFailure
{
    [Id(0)] public required ShardFailureKind Kind { get; init; }

    /// <summary>One line for people (status and error rows); never used to decide anything.</summary>
    [Id(1)] public required string Reason { get; init; }

    /// <summary>The HTTP status of the storage error, when there was one.</summary>
    [Id(2)] public int? StorageStatus { get; init; }
}
