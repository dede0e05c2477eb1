using Azure.Core;
using Azure.Storage.Blobs;

namespace MobileNet.Orleans.Grains.Storage;

/// <summary>
/// The blob clients the grains and workers use, on the one storage account of the cluster. Workers retry long with
/// backoff (an outage of tens of seconds should cost a retry, not a shard attempt); the coordinator retries briefly
/// because its calls run inside grain turns that must stay short.
/// </summary>
public sealed class JobStorage
{
    public JobStorage(Func<BlobClientOptions, BlobServiceClient> createClient)
    {
        ArgumentNullException.ThrowIfNull(createClient);
        Workers = createClient(CreateOptions(maxRetries: 6, delay: TimeSpan.FromMilliseconds(500), maxDelay: TimeSpan.FromSeconds(8), networkTimeout: TimeSpan.FromSeconds(60)));
        Coordinator = createClient(CreateOptions(maxRetries: 2, delay: TimeSpan.FromMilliseconds(200), maxDelay: TimeSpan.FromSeconds(1), networkTimeout: TimeSpan.FromSeconds(5)));
    }

    /// <summary>For shard work: image downloads, manifests, result uploads, model downloads.</summary>
    public BlobServiceClient Workers { get; }

    /// <summary>For the coordinator's listing, manifests and summaries: fails fast so grain turns stay short.</summary>
    public BlobServiceClient Coordinator { get; }

    private static BlobClientOptions CreateOptions(int maxRetries, TimeSpan delay, TimeSpan maxDelay, TimeSpan networkTimeout)
    {
        var options = new BlobClientOptions();
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.MaxRetries = maxRetries;
        options.Retry.Delay = delay;
        options.Retry.MaxDelay = maxDelay;
        options.Retry.NetworkTimeout = networkTimeout;
        return options;
    }
}
