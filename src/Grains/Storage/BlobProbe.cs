using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace MobileNet.Orleans.Grains.Storage;

/// <summary>Cheap existence checks for submit: one listing page of one entry.</summary>
public static class BlobProbe
{
    public static async Task<bool> HasAnyBlobAsync(BlobContainerClient container, string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(container);
        var options = new GetBlobsOptions { Prefix = string.IsNullOrEmpty(prefix) ? null : prefix };
        await foreach (var page in container.GetBlobsAsync(options, cancellationToken).AsPages(pageSizeHint: 1).ConfigureAwait(false))
        {
            if (page.Values.Count > 0)
            {
                return true;
            }
        }

        return false;
    }
}
