using MobileNet.Orleans.Contracts.Security;
using MobileNet.Orleans.Contracts.Storage;

namespace MobileNet.Orleans.Contracts.Jobs;

/// <summary>
/// Read access to one job's results (key: job id) for clients that hold no storage key: the cluster lists the job's
/// result blobs and signs a short-lived, read-only link for each.
/// </summary>
[Alias("mobilenet.job-results")]
public interface IJobResultsGrain : IGrainWithStringKey
{
    /// <summary>Throws <see cref="KeyNotFoundException"/> for an unknown job.</summary>
    [Alias("read-links"), RequiresRole(CallerRole.Reader)]
    Task<ResultReadLinks> GetReadLinksAsync();
}

/// <summary>Read-only links (blob URL with a SAS) to every result blob of a job, valid until <see cref="ExpiresAt"/>.</summary>
[GenerateSerializer, Immutable, Alias("mobilenet.result-read-links")]
public sealed record ResultReadLinks
{
    /// <summary>Where the results live (for messages; the links are the only way in).</summary>
    [Id(0)] public required BlobPath Folder { get; init; }

    /// <summary>One read-only URL per shard id, in shard order (<c>results/NNNNNN.jsonl</c>; a shard not yet done has none yet behind it).</summary>
    [Id(1)] public required IReadOnlyList<string> Blobs { get; init; }

    [Id(2)] public required DateTimeOffset ExpiresAt { get; init; }
}
