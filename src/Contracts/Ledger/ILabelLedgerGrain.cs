using MobileNet.Orleans.Contracts.Security;
using MobileNet.Orleans.Contracts.Storage;

namespace MobileNet.Orleans.Contracts.Ledger;

/// <summary>
/// The incremental-labeling ledger of one (source prefix, model SHA-256) (key: <see cref="LabelLedgerKey.Of"/>):
/// which blob (name + ETag) was last labeled by which job. Jobs commit into it when they complete; a commit is
/// idempotent per job, and commits of one ledger run one at a time.
/// </summary>
[Alias("mobilenet.label-ledger")]
public interface ILabelLedgerGrain : IGrainWithStringKey
{
    /// <summary>Merges the job's images into the ledger; true once committed (false: still merging, ask again).</summary>
    [Alias("commit"), RequiresRole(CallerRole.Silo)]
    Task<bool> CommitAsync(LedgerCommit commit);

    /// <summary>The ledger as of its last commit (null: nothing committed yet).</summary>
    [Alias("snapshot"), RequiresRole(CallerRole.Silo)]
    Task<LedgerSnapshot?> GetSnapshotAsync();
}

/// <summary>
/// Read access to the newest labels of a source for a model, for clients without a storage key (key: the source as
/// <c>container/prefix</c>): the ledger's entries and the result blobs of its jobs, as signed read-only links.
/// </summary>
[Alias("mobilenet.latest-results")]
public interface ILatestResultsGrain : IGrainWithStringKey
{
    /// <summary>Throws <see cref="KeyNotFoundException"/> when no incremental job on this source and model (its current version) has completed.</summary>
    [Alias("latest-links"), RequiresRole(CallerRole.Reader)]
    Task<LatestResultLinks> GetLatestLinksAsync(string modelName);
}

/// <summary>A completed job's images to fold into a ledger: those in its shard manifests (ETags beside them, or none for a retry).</summary>
[GenerateSerializer, Immutable, Alias("mobilenet.ledger-commit")]
public sealed record LedgerCommit
{
    [Id(0)] public required string JobId { get; init; }

    [Id(1)] public required BlobPath Source { get; init; }

    [Id(2)] public required string ModelSha256 { get; init; }

    [Id(3)] public required BlobPath Output { get; init; }

    [Id(4)] public required int ShardCount { get; init; }

    /// <summary>True when the job recorded each image's ETag at listing; false for a retry, which keeps the ETags already in the ledger.</summary>
    [Id(6)] public bool HasETags { get; init; }

    /// <summary>Idempotency key of this commit (a <c>--follow</c> job commits once per round); null: the job id.</summary>
    [Id(8)] public string? CommitId { get; init; }

    /// <summary>Only the job's manifest groups from this shard on (a follow round's); names within are in listing order.</summary>
    [Id(9)] public int FromShard { get; init; }

    /// <summary>Labels per image in the job's rows (a CSV of the newest labels needs the widest).</summary>
    [Id(7)] public int TopK { get; init; } = 1;
}

/// <summary>A job whose rows some ledger entries point at.</summary>
[GenerateSerializer, Immutable, Alias("mobilenet.ledger-job")]
public sealed record LedgerJob
{
    [Id(0)] public required string JobId { get; init; }

    [Id(1)] public required BlobPath Output { get; init; }

    [Id(2)] public required int ShardCount { get; init; }

    /// <summary>Ledger entries that point at this job.</summary>
    [Id(3)] public long Entries { get; init; }

    [Id(4)] public int TopK { get; init; } = 1;
}

/// <summary>The stored ledger: a version, its jobs and the segment blobs of its entries (names in order).</summary>
[GenerateSerializer, Immutable, Alias("mobilenet.ledger-snapshot")]
public sealed record LedgerSnapshot
{
    [Id(0)] public required BlobPath Source { get; init; }

    [Id(1)] public required string ModelSha256 { get; init; }

    [Id(2)] public required int Version { get; init; }

    [Id(3)] public required IReadOnlyList<LedgerJob> Jobs { get; init; }

    /// <summary>Segment blob names (in the job-state container), in name order; each holds up to a few thousand entries.</summary>
    [Id(4)] public required IReadOnlyList<LedgerSegmentRef> Segments { get; init; }

    [Id(5)] public long Entries { get; init; }

    /// <summary>Every job ever committed (bounded list of ids, newest last), so a commit is idempotent even after its entries are superseded.</summary>
    [Id(6)] public IReadOnlyList<string> Committed { get; init; } = [];
}

[GenerateSerializer, Immutable, Alias("mobilenet.ledger-segment-ref")]
public sealed record LedgerSegmentRef
{
    [Id(0)] public required string Blob { get; init; }

    /// <summary>The first image name in the segment (segments are looked up by name).</summary>
    [Id(1)] public required string FirstName { get; init; }

    [Id(2)] public int Count { get; init; }
}

/// <summary>What <c>results --latest</c> reads: the entry segments and each job's result blobs, as read-only links.</summary>
[GenerateSerializer, Immutable, Alias("mobilenet.latest-result-links")]
public sealed record LatestResultLinks
{
    [Id(0)] public required BlobPath Source { get; init; }

    [Id(1)] public required string ModelName { get; init; }

    [Id(2)] public required string ModelSha256 { get; init; }

    [Id(3)] public required long Entries { get; init; }

    [Id(4)] public required IReadOnlyList<string> Segments { get; init; }

    [Id(5)] public required IReadOnlyList<LatestJobLinks> Jobs { get; init; }

    [Id(6)] public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>The widest top-k among the jobs.</summary>
    [Id(7)] public int TopK { get; init; } = 1;
}

[GenerateSerializer, Immutable, Alias("mobilenet.latest-job-links")]
public sealed record LatestJobLinks
{
    [Id(0)] public required string JobId { get; init; }

    /// <summary>One link per shard id, in shard order.</summary>
    [Id(1)] public required IReadOnlyList<string> Shards { get; init; }
}
