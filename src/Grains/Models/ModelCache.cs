using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Azure;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MobileNet.Inference;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Models;
using MobileNet.Orleans.Grains.Diagnostics;
using MobileNet.Orleans.Grains.Storage;
using MobileNet.Orleans.Grains.Workers;

namespace MobileNet.Orleans.Grains.Models;

/// <summary>A model that could not be found, downloaded, verified or loaded; the shard attempt fails with this reason.</summary>
public sealed class ModelUnavailableException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>
/// The silo's models: each is downloaded from the model store once into a local folder named by its SHA-256, verified
/// against the manifest before it is loaded, and loaded once; every shard of every job using it shares the instance.
/// Concurrent first requests wait for the same load; a failed load is not cached, so the next attempt tries again.
/// </summary>
public sealed partial class ModelCache(JobStorage storage, IOptions<WorkerOptions> options, JobMetrics metrics, ILogger<ModelCache> logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<ImageClassifier>>> loaded = new(StringComparer.Ordinal);
    private readonly WorkerOptions settings = options.Value;

    /// <summary>The classifier for the model currently stored under <paramref name="name"/> (its manifest is read each time, so a re-upload is picked up).</summary>
    public async Task<ImageClassifier> GetAsync(string name, CancellationToken cancellationToken)
    {
        if (!JobSpecValidation.IsValidModelName(name))
        {
            throw new ModelUnavailableException($"'{name}' is not a valid model name");
        }

        var manifest = await ReadManifestAsync(name, cancellationToken);
        var key = $"{manifest.Sha256}/{manifest.LabelsSha256}/{manifest.DescriptionSha256}";
        var entry = loaded.GetOrAdd(key, _ => new Lazy<Task<ImageClassifier>>(() => LoadAsync(name, manifest)));
        try
        {
            // The load itself is not cancelled by one caller: others may be waiting for it.
            return await entry.Value.WaitAsync(cancellationToken);
        }
        catch (Exception) when (entry.Value.IsFaulted)
        {
            loaded.TryRemove(new KeyValuePair<string, Lazy<Task<ImageClassifier>>>(key, entry));
            throw;
        }
    }

    private async Task<ModelManifest> ReadManifestAsync(string name, CancellationToken cancellationToken)
    {
        var blob = storage.Workers.GetBlobContainerClient(ModelStoreLayout.Container).GetBlobClient(ModelStoreLayout.ManifestBlob(name));
        try
        {
            var content = await blob.DownloadContentAsync(cancellationToken);
            var manifest = ModelManifestJson.Deserialize(content.Value.Content.ToString());
            if (manifest.Sha256.Length != 64)
            {
                throw new ModelUnavailableException($"model '{name}': manifest has no valid SHA-256");
            }

            return manifest;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new ModelUnavailableException($"model '{name}' is not in the model store (container {ModelStoreLayout.Container})", ex);
        }
        catch (FormatException ex)
        {
            throw new ModelUnavailableException($"model '{name}': {ex.Message}", ex);
        }
    }

    private async Task<ImageClassifier> LoadAsync(string name, ModelManifest manifest)
    {
        var started = Stopwatch.StartNew();
        var sha = manifest.Sha256.ToLowerInvariant();
        var folder = Path.Combine(settings.CacheDirectory, sha);
        Directory.CreateDirectory(folder);
        var container = storage.Workers.GetBlobContainerClient(ModelStoreLayout.Container);

        var modelPath = Path.Combine(folder, "model.onnx");
        await EnsureFileAsync(name, container.GetBlobClient(ModelStoreLayout.ModelBlob(name)), modelPath, sha, "model");

        string? labelsPath = null;
        if (manifest.LabelsSha256 is { } labelsSha)
        {
            labelsPath = Path.Combine(folder, "labels.txt");
            await EnsureFileAsync(name, container.GetBlobClient(ModelStoreLayout.LabelsBlob(name)), labelsPath, labelsSha.ToLowerInvariant(), "labels");
        }

        var sidecar = ModelDescription.SidecarPathFor(modelPath);
        if (manifest.DescriptionSha256 is { } descriptionSha)
        {
            await EnsureFileAsync(name, container.GetBlobClient(ModelStoreLayout.DescriptionBlob(name)), sidecar, descriptionSha.ToLowerInvariant(), "description");
        }
        else
        {
            File.Delete(sidecar);
        }

        try
        {
            var classifier = ImageClassifier.Load(modelPath, new ClassifierOptions
            {
                IntraOpThreads = settings.IntraOpThreads,
                LabelsPath = labelsPath,
                // A model uploaded without labels names its classes by index.
                AllowMissingLabels = labelsPath is null,
                ImageLimits = ImageLimits.Default with { MaxBytes = settings.MaxImageBytes },
            });
            metrics.ModelLoaded(name, started.Elapsed);
            LogModelLoaded(logger, name, sha, started.Elapsed.TotalMilliseconds);
            return classifier;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new ModelUnavailableException($"model '{name}' ({sha[..12]}) failed to load: {ex.Message}", ex);
        }
    }

    /// <summary>Reuses the cached file when its hash matches; otherwise downloads to a temporary file, verifies, then moves it in place.</summary>
    private async Task EnsureFileAsync(string model, BlobClient blob, string path, string expectedSha, string what)
    {
        if (File.Exists(path) && await Sha256OfFileAsync(path) == expectedSha)
        {
            return;
        }

        var temporary = $"{path}.{Guid.NewGuid():N}.partial";
        try
        {
            try
            {
                await blob.DownloadToAsync(temporary);
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                throw new ModelUnavailableException($"model '{model}': {what} blob {blob.Name} is missing", ex);
            }

            var actual = await Sha256OfFileAsync(temporary);
            if (actual != expectedSha)
            {
                throw new ModelUnavailableException($"model '{model}': {what} SHA-256 is {actual} but the manifest says {expectedSha}; refusing to load it");
            }

            File.Move(temporary, path, overwrite: true);
            LogDownloaded(logger, model, what, path);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static async Task<string> Sha256OfFileAsync(string path)
    {
        await using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(file));
    }

    public void Dispose()
    {
        foreach (var entry in loaded.Values)
        {
            if (entry.IsValueCreated && entry.Value.IsCompletedSuccessfully)
            {
                entry.Value.Result.Dispose();
            }
        }

        loaded.Clear();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} ({Sha256}) verified and loaded in {Milliseconds:F0} ms")]
    private static partial void LogModelLoaded(ILogger logger, string model, string sha256, double milliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model}: downloaded {What} to {Path}")]
    private static partial void LogDownloaded(ILogger logger, string model, string what, string path);
}
