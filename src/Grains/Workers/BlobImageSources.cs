using System.Globalization;
using Azure;
using Azure.Storage.Blobs;
using MobileNet.Inference;
using MobileNet.Orleans.Contracts.Jobs;

namespace MobileNet.Orleans.Grains.Workers;

/// <summary>
/// Images read from blob storage. Problems with one blob (missing, too large, a name storage URLs cannot address)
/// become <see cref="ImageLoadException"/>s, i.e. error rows; anything else (storage unreachable after the SDK's own
/// retries) propagates and fails the shard attempt, so an outage is retried rather than recorded as bad images.
/// </summary>
internal static class BlobImageSources
{
    public static ImageSource Create(BlobContainerClient container, string name, long maxBytes) =>
        new(name, cancellationToken => OpenAsync(container, name, maxBytes, cancellationToken));

    private static async ValueTask<Stream> OpenAsync(BlobContainerClient container, string name, long maxBytes, CancellationToken cancellationToken)
    {
        // The name is data: it must address exactly this blob in this container, never a normalised other path.
        if (!JobSpecValidation.IsSafeBlobPath(name, allowEmpty: false))
        {
            throw new ImageLoadException(new ImageError(ImageErrorCodes.ReadFailed, "blob name has '.' or '..' segments, backslashes or control characters, which storage URLs cannot address safely"));
        }

        try
        {
            var response = await container.GetBlobClient(name).DownloadStreamingAsync(cancellationToken: cancellationToken);
            var download = response.Value;
            var length = download.Details.ContentLength;
            if (length > maxBytes)
            {
                // Refused from the headers: the body is never read.
                download.Dispose();
                throw new ImageLoadException(new ImageError(
                    ImageErrorCodes.TooLarge,
                    string.Create(CultureInfo.InvariantCulture, $"{length} bytes is over the {maxBytes}-byte limit")));
            }

            // The pipeline reads the body (under its own byte cap) and disposes the stream, which ends the response.
            return download.Content;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new ImageLoadException(new ImageError(ImageErrorCodes.NotFound, "blob not found (deleted after the job listed it?)"), ex);
        }
    }
}
