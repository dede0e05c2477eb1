using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Sas;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Storage;
using MobileNet.Orleans.Grains.Storage;

namespace MobileNet.Orleans.Grains.Results;

/// <summary>
/// Signs short-lived, read-only links to result blobs with the silos' own storage identity, so clients read results
/// without a storage key. A blob SAS names one blob, so a link cannot list or read anything else in the container.
/// With an account key (Azurite, key-based accounts) it is a service SAS; with a token credential (workload identity)
/// it is a user-delegation SAS, whose key is fetched once and reused while it stays valid.
/// </summary>
public sealed class ResultLinkSigner(JobStorage storage, TimeProvider time)
{
    /// <summary>How long a link is good for: long enough to download a large job, short enough to be useless later.</summary>
    public static readonly TimeSpan LinkLifetime = TimeSpan.FromMinutes(15);

    private static readonly TimeSpan DelegationKeyLifetime = TimeSpan.FromHours(2);
    private readonly SemaphoreSlim _keyLock = new(1, 1);
    private UserDelegationKey? _delegationKey;

    /// <summary>
    /// One link per shard id 0..<paramref name="shardCount"/>-1, in shard order: exactly the blobs the job's shards write
    /// (<c>results/NNNNNN.jsonl</c>), never anything else under its prefix; signing needs no storage call with a key.
    /// </summary>
    public async Task<ResultReadLinks> SignAsync(BlobPath output, string jobId, int shardCount, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfNegative(shardCount);
        var service = storage.Coordinator;
        var container = service.GetBlobContainerClient(output.Container);
        var now = time.GetUtcNow();
        var expires = now + LinkLifetime;
        var links = new List<string>(shardCount);
        for (var id = 0; id < shardCount; id++)
        {
            var blob = container.GetBlobClient(JobOutputLayout.ShardResult(output, jobId, id).Prefix);
            links.Add((await SignAsync(service, blob, now, expires, cancellationToken).ConfigureAwait(false)).AbsoluteUri);
        }

        return new ResultReadLinks { Folder = JobOutputLayout.ResultsFolder(output, jobId), Blobs = links, ExpiresAt = expires };
    }

    /// <summary>A read-only link to one blob of the cluster's account (ledger segments for <c>results --latest</c>).</summary>
    public async Task<(string Link, DateTimeOffset ExpiresAt)> SignBlobAsync(string container, string blobName, CancellationToken cancellationToken = default)
    {
        var service = storage.Coordinator;
        var now = time.GetUtcNow();
        var expires = now + LinkLifetime;
        var link = await SignAsync(service, service.GetBlobContainerClient(container).GetBlobClient(blobName), now, expires, cancellationToken).ConfigureAwait(false);
        return (link.AbsoluteUri, expires);
    }

    private async Task<Uri> SignAsync(BlobServiceClient service, BlobClient blob, DateTimeOffset now, DateTimeOffset expires, CancellationToken cancellationToken)
    {
        if (blob.CanGenerateSasUri)
        {
            return blob.GenerateSasUri(BlobSasPermissions.Read, expires);
        }

        var key = await DelegationKeyAsync(service, now, expires, cancellationToken).ConfigureAwait(false);
        var sas = new BlobSasBuilder(BlobSasPermissions.Read, expires)
        {
            BlobContainerName = blob.BlobContainerName,
            BlobName = blob.Name,
            Resource = "b",
            // Clocks differ a little between the silo, storage and the client.
            StartsOn = now - TimeSpan.FromMinutes(5),
        };
        return new BlobUriBuilder(blob.Uri) { Sas = sas.ToSasQueryParameters(key, service.AccountName) }.ToUri();
    }

    private async Task<UserDelegationKey> DelegationKeyAsync(BlobServiceClient service, DateTimeOffset now, DateTimeOffset needed, CancellationToken cancellationToken)
    {
        await _keyLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_delegationKey is not { } key || key.SignedExpiresOn < needed)
            {
                key = (await service.GetUserDelegationKeyAsync(now - TimeSpan.FromMinutes(5), now + DelegationKeyLifetime, cancellationToken).ConfigureAwait(false)).Value;
                _delegationKey = key;
            }

            return key;
        }
        finally
        {
            _keyLock.Release();
        }
    }
}
