using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Models;

namespace MobileNet.Orleans.Grains.Jobs;

/// <summary>
/// What a submit checks in storage once the spec passed validation and the storage scope: the model (pinned to the
/// version stored now) and the source. Each failure is an <see cref="ArgumentException"/> (the client's exit 2).
/// </summary>
internal static class SubmitChecks
{
    /// <summary>Reads the model's manifest and pins that version; refuses a top-k above its class count.</summary>
    public static Task<PinnedModel> PinModelAsync(BlobServiceClient storage, JobSpec spec) => PinModelAsync(storage, spec.ModelName, spec.TopK);

    /// <summary>The model's current version (its manifest); refuses a top-k above its class count.</summary>
    public static async Task<PinnedModel> PinModelAsync(BlobServiceClient storage, string modelName, int topK)
    {
        var spec = (ModelName: modelName, TopK: topK);
        var blob = storage.GetBlobContainerClient(ModelStoreLayout.Container).GetBlobClient(ModelStoreLayout.ManifestBlob(spec.ModelName));
        ModelManifest manifest;
        try
        {
            var content = await blob.DownloadContentAsync();
            manifest = ModelManifestJson.Deserialize(content.Value.Content.ToString());
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new ArgumentException($"model '{spec.ModelName}' is not in the model store: upload it with 'mobilenet models upload {spec.ModelName} --file <model.onnx>'", ex);
        }
        catch (FormatException ex)
        {
            throw new ArgumentException($"model '{spec.ModelName}' has an unreadable manifest ({ex.Message}); upload it again", ex);
        }

        if (manifest.Sha256 is not { Length: 64 } || manifest.Name != spec.ModelName)
        {
            throw new ArgumentException($"model '{spec.ModelName}' has an invalid manifest; upload it again");
        }

        if (manifest.ClassCount is { } classes && spec.TopK > classes)
        {
            throw new ArgumentException($"top-k {spec.TopK} is more than model '{spec.ModelName}' has classes ({classes}); give --top-k 1..{classes}");
        }

        return manifest.Pin();
    }

    /// <summary>The source container exists and has images under the prefix, or the manifest blob exists.</summary>
    public static async Task RequireSourceAsync(BlobServiceClient storage, JobSpec spec)
    {
        var source = storage.GetBlobContainerClient(spec.Source.Container);
        if (!await source.ExistsAsync())
        {
            throw new ArgumentException($"source container '{spec.Source.Container}' does not exist; upload images with 'mobilenet upload <dir> --to {spec.Source.ToString().TrimEnd('/')}'");
        }

        if (spec.ManifestBlob is { } manifest)
        {
            if (!await source.GetBlobClient(manifest).ExistsAsync())
            {
                throw new ArgumentException($"manifest blob '{manifest}' does not exist in container '{spec.Source.Container}'");
            }

            return;
        }

        var options = new GetBlobsOptions { Prefix = spec.Source.Prefix.Length == 0 ? null : spec.Source.Prefix };
        await foreach (var page in source.GetBlobsAsync(options).AsPages(pageSizeHint: 1))
        {
            if (page.Values.Count > 0)
            {
                return;
            }
        }

        throw new ArgumentException($"no blobs under source '{spec.Source}'; check the prefix, or upload images with 'mobilenet upload <dir> --to {spec.Source.ToString().TrimEnd('/')}'");
    }
}
