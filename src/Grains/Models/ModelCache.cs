using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MobileNet.Inference;
using MobileNet.Inference.Files;
using MobileNet.Orleans.Contracts.Cluster;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Models;
using MobileNet.Orleans.Grains.Diagnostics;
using MobileNet.Orleans.Grains.Storage;
using MobileNet.Orleans.Grains.Workers;

namespace MobileNet.Orleans.Grains.Models;

/// <summary>Why a model could not be used; the shard attempt fails with this code first in its reason.</summary>
public enum ModelUnavailableReason
{
    /// <summary>No such model, or one of its artifacts is gone from the model store.</summary>
    NotFound,

    /// <summary>Its manifest cannot be read.</summary>
    InvalidManifest,

    /// <summary>Larger than <see cref="ModelCacheOptions.MaxModelBytes"/> (or a labels/description file over its limit).</summary>
    TooLarge,

    /// <summary>A downloaded artifact's SHA-256 is not the pinned one.</summary>
    HashMismatch,

    /// <summary>ONNX Runtime, the description or the labels refused it.</summary>
    LoadFailed,

    /// <summary>It loaded but does not fit the job (class count differs from the pinned one, top-k above it).</summary>
    Mismatch,
}

/// <summary>A model that could not be found, downloaded, verified or loaded; the shard attempt fails with this reason.</summary>
public sealed class ModelUnavailableException(ModelUnavailableReason reason, string message, Exception? innerException = null)
    : Exception($"{Code(reason)}: {message}", innerException)
{
    public ModelUnavailableReason Reason { get; } = reason;

    public static string Code(ModelUnavailableReason reason) => reason switch
    {
        ModelUnavailableReason.NotFound => "model-not-found",
        ModelUnavailableReason.InvalidManifest => "model-invalid-manifest",
        ModelUnavailableReason.TooLarge => "model-too-large",
        ModelUnavailableReason.HashMismatch => "model-hash-mismatch",
        ModelUnavailableReason.LoadFailed => "model-load-failed",
        _ => "model-mismatch",
    };
}

/// <summary>A loaded model in use by one shard; disposing it lets the cache unload the model when over its memory budget.</summary>
public sealed class ModelHandle : IDisposable
{
    private Action? release;

    internal ModelHandle(PinnedModel pin, ImageClassifier classifier, Action release)
    {
        Pin = pin;
        Classifier = classifier;
        this.release = release;
    }

    public PinnedModel Pin { get; }

    public ImageClassifier Classifier { get; }

    public void Dispose() => Interlocked.Exchange(ref release, null)?.Invoke();
}

/// <summary>
/// The silo's models. A model version (its ONNX, labels and description hashes, as pinned in the job) is downloaded
/// from the model store into a folder named by all three hashes, each file verified before it is used, and loaded once;
/// every shard using that version shares it. Concurrent first requests wait for the same load; a failed load is not
/// kept, so the next attempt tries again. Loaded models are unloaded least recently used first when their total size
/// passes the memory budget, and folders deleted likewise past the disk budget (never those in use).
/// </summary>
public sealed partial class ModelCache(
    JobStorage storage,
    IOptions<WorkerOptions> workerOptions,
    IOptions<ModelCacheOptions> cacheOptions,
    JobMetrics metrics,
    ILogger<ModelCache> logger) : IDisposable
{
    /// <summary>Labels are one class name per line; even 100,000 classes fit well under this.</summary>
    public const long MaxLabelsBytes = 16L * 1024 * 1024;

    private readonly Dictionary<string, Entry> entries = new(StringComparer.Ordinal);
    private readonly Lock gate = new();
    private readonly WorkerOptions settings = workerOptions.Value;
    private readonly ModelCacheOptions limits = cacheOptions.Value;
    private long useClock;

    /// <summary>The version of <paramref name="name"/> stored now (for leases of jobs submitted before models were pinned).</summary>
    public async Task<PinnedModel> CurrentAsync(string name, CancellationToken cancellationToken)
    {
        if (!JobSpecValidation.IsValidModelName(name))
        {
            throw new ModelUnavailableException(ModelUnavailableReason.NotFound, $"'{name}' is not a valid model name");
        }

        var blob = storage.Workers.GetBlobContainerClient(ModelStoreLayout.Container).GetBlobClient(ModelStoreLayout.ManifestBlob(name));
        try
        {
            var content = await blob.DownloadContentAsync(cancellationToken);
            return ModelManifestJson.Deserialize(content.Value.Content.ToString()).Pin();
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new ModelUnavailableException(ModelUnavailableReason.NotFound, $"model '{name}' is not in the model store (container {ModelStoreLayout.Container})", ex);
        }
        catch (FormatException ex)
        {
            throw new ModelUnavailableException(ModelUnavailableReason.InvalidManifest, $"model '{name}': {ex.Message}", ex);
        }
    }

    /// <summary>Exactly the pinned version of the model, loaded; dispose the handle when the shard is done with it.</summary>
    public async Task<ModelHandle> AcquireAsync(PinnedModel pin, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pin);
        if (!JobSpecValidation.IsValidModelName(pin.Name) || !IsSha256(pin.Sha256) || (pin.LabelsSha256 is { } l && !IsSha256(l)) || (pin.DescriptionSha256 is { } d && !IsSha256(d)))
        {
            throw new ModelUnavailableException(ModelUnavailableReason.InvalidManifest, $"model '{pin.Name}': the pinned version has no valid SHA-256");
        }

        if (pin.SizeBytes > limits.MaxModelBytes)
        {
            throw new ModelUnavailableException(ModelUnavailableReason.TooLarge, $"model '{pin.Name}' is {pin.SizeBytes} bytes, more than this silo's ModelCache:MaxModelBytes ({limits.MaxModelBytes})");
        }

        var key = FolderKey(pin);
        Entry entry;
        lock (gate)
        {
            if (!entries.TryGetValue(key, out entry!))
            {
                entry = new Entry(pin, pin.SizeBytes, new Lazy<Task<ImageClassifier>>(() => LoadAsync(pin, key)));
                entries[key] = entry;
            }

            entry.Users++;
            entry.LastUse = ++useClock;
        }

        try
        {
            // The load itself is not cancelled by one caller: others may be waiting for it.
            var classifier = await entry.Load.Value.WaitAsync(cancellationToken);
            if (pin.ClassCount is { } classes && classifier.Description.ClassCount != classes)
            {
                throw new ModelUnavailableException(ModelUnavailableReason.Mismatch, $"model '{pin.Name}' ({pin.Sha256[..12]}) has {classifier.Description.ClassCount} classes but the job pinned {classes}");
            }

            var handle = new ModelHandle(pin, classifier, () => Release(entry));
            EvictMemory();
            return handle;
        }
        catch
        {
            Release(entry);
            lock (gate)
            {
                if (entry.Load.IsValueCreated && entry.Load.Value.IsFaulted && entries.TryGetValue(key, out var current) && current == entry)
                {
                    entries.Remove(key);
                }
            }

            throw;
        }
    }

    /// <summary>Loaded model versions now (for tests and diagnostics).</summary>
    public int LoadedCount
    {
        get
        {
            lock (gate)
            {
                return entries.Values.Count(e => e.Load.IsValueCreated && e.Load.Value.IsCompletedSuccessfully);
            }
        }
    }

    /// <summary>Model versions loaded in memory now, with how many shards use each (the dashboard's cluster page).</summary>
    public IReadOnlyList<LoadedModel> Loaded()
    {
        lock (gate)
        {
            return [.. entries.Values
                .Where(e => e.Load.IsValueCreated && e.Load.Value.IsCompletedSuccessfully)
                .Select(e => new LoadedModel { Name = e.Pin.Name, Sha256 = e.Pin.Sha256, SizeBytes = e.SizeBytes, Users = e.Users })
                .OrderBy(m => m.Name, StringComparer.Ordinal)];
        }
    }

    public long MemoryBudgetBytes => limits.MemoryBudgetBytes;

    public long DiskBudgetBytes => limits.DiskBudgetBytes;

    /// <summary>Bytes in the cache folder now (walks it: call it seldom).</summary>
    public long DiskBytes()
    {
        try
        {
            var root = new DirectoryInfo(settings.CacheDirectory);
            return root.Exists ? root.EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length) : 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>The folder of a model version: a hash over every artifact's hash, so two names sharing one ONNX file with different labels never share a folder.</summary>
    public static string FolderKey(PinnedModel pin)
    {
        ArgumentNullException.ThrowIfNull(pin);
        var identity = $"onnx={pin.Sha256.ToLowerInvariant()}\nlabels={pin.LabelsSha256?.ToLowerInvariant() ?? "-"}\ndescription={pin.DescriptionSha256?.ToLowerInvariant() ?? "-"}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)));
    }

    private void Release(Entry entry)
    {
        lock (gate)
        {
            entry.Users--;
        }

        EvictMemory();
    }

    private async Task<ImageClassifier> LoadAsync(PinnedModel pin, string key)
    {
        var started = Stopwatch.StartNew();
        var folder = Path.Combine(settings.CacheDirectory, key);
        Directory.CreateDirectory(folder);
        // The folder's write time is its last use: the disk budget deletes the oldest first.
        Directory.SetLastWriteTimeUtc(folder, DateTime.UtcNow);
        var container = storage.Workers.GetBlobContainerClient(ModelStoreLayout.Container);

        var modelPath = Path.Combine(folder, "model.onnx");
        await EnsureFileAsync(container, pin, pin.Sha256, ModelStoreLayout.ModelBlob(pin.Name), modelPath, "model", limits.MaxModelBytes);

        string? labelsPath = null;
        if (pin.LabelsSha256 is { } labelsSha)
        {
            labelsPath = Path.Combine(folder, "labels.txt");
            await EnsureFileAsync(container, pin, labelsSha, ModelStoreLayout.LabelsBlob(pin.Name), labelsPath, "labels", MaxLabelsBytes);
        }

        if (pin.DescriptionSha256 is { } descriptionSha)
        {
            await EnsureFileAsync(container, pin, descriptionSha, ModelStoreLayout.DescriptionBlob(pin.Name), ModelDescription.SidecarPathFor(modelPath), "description", ModelDescription.MaxSidecarBytes);
        }

        EvictDisk(key);
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
            metrics.ModelLoaded(pin.Name, started.Elapsed);
            LogModelLoaded(logger, pin.Name, pin.Sha256, key, started.Elapsed.TotalMilliseconds);
            return classifier;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Messages name files of the cache folder only; the description can no longer point elsewhere.
            throw new ModelUnavailableException(ModelUnavailableReason.LoadFailed, $"model '{pin.Name}' ({pin.Sha256[..12]}) failed to load: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Reuses the cached file when its hash matches; otherwise downloads the artifact (by hash, or from where uploads
    /// before content addressing kept it) to a temporary file, verifies size and hash, then moves it in place.
    /// </summary>
    private async Task EnsureFileAsync(BlobContainerClient container, PinnedModel pin, string expectedSha, string legacyBlob, string path, string what, long maxBytes)
    {
        expectedSha = expectedSha.ToLowerInvariant();
        if (File.Exists(path) && await Sha256OfFileAsync(path) == expectedSha)
        {
            return;
        }

        var blob = container.GetBlobClient(ModelStoreLayout.ArtifactBlob(pin.Name, expectedSha));
        long length;
        try
        {
            length = (await blob.GetPropertiesAsync()).Value.ContentLength;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            blob = container.GetBlobClient(legacyBlob);
            try
            {
                length = (await blob.GetPropertiesAsync()).Value.ContentLength;
            }
            catch (RequestFailedException legacy) when (legacy.Status == 404)
            {
                throw new ModelUnavailableException(ModelUnavailableReason.NotFound, $"model '{pin.Name}': the pinned {what} ({expectedSha[..12]}) is no longer in the model store", legacy);
            }
        }

        if (length > maxBytes)
        {
            throw new ModelUnavailableException(ModelUnavailableReason.TooLarge, $"model '{pin.Name}': {what} blob is {length} bytes, more than the {maxBytes} this silo accepts");
        }

        // Only a file whose hash is the pinned one takes the cache's name.
        await AtomicFile.WriteAsync(path, async (file, ct) =>
        {
            await blob.DownloadToAsync(file, ct);
            file.Position = 0;
            var actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(file, ct));
            if (actual != expectedSha)
            {
                throw new ModelUnavailableException(ModelUnavailableReason.HashMismatch, $"model '{pin.Name}': {what} SHA-256 is {actual} but the job pinned {expectedSha}; refusing to load it");
            }
        });
        LogDownloaded(logger, pin.Name, what, path);
    }

    /// <summary>Unloads idle models, least recently used first, while the loaded ones exceed the memory budget.</summary>
    private void EvictMemory()
    {
        List<(string Key, ImageClassifier Classifier)> evicted = [];
        lock (gate)
        {
            var loaded = entries.Where(e => e.Value.Load.IsValueCreated && e.Value.Load.Value.IsCompletedSuccessfully).ToList();
            var total = loaded.Sum(e => e.Value.SizeBytes);
            foreach (var (key, entry) in loaded.Where(e => e.Value.Users == 0).OrderBy(e => e.Value.LastUse))
            {
                if (total <= limits.MemoryBudgetBytes)
                {
                    break;
                }

                entries.Remove(key);
                total -= entry.SizeBytes;
                evicted.Add((key, entry.Load.Value.Result));
            }
        }

        foreach (var (key, classifier) in evicted)
        {
            classifier.Dispose();
            LogUnloaded(logger, key, limits.MemoryBudgetBytes);
        }
    }

    /// <summary>Deletes folders of model versions not loaded, least recently used first, while the cache exceeds its disk budget.</summary>
    private void EvictDisk(string keep)
    {
        try
        {
            var root = new DirectoryInfo(settings.CacheDirectory);
            HashSet<string> inMemory;
            lock (gate)
            {
                inMemory = [.. entries.Keys];
            }

            var folders = root.EnumerateDirectories()
                .Select(d => (Folder: d, Bytes: d.EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length)))
                .ToList();
            var total = folders.Sum(f => f.Bytes);
            foreach (var (folder, bytes) in folders.Where(f => f.Folder.Name != keep && !inMemory.Contains(f.Folder.Name)).OrderBy(f => f.Folder.LastWriteTimeUtc))
            {
                if (total <= limits.DiskBudgetBytes)
                {
                    break;
                }

                folder.Delete(recursive: true);
                total -= bytes;
                LogDeleted(logger, folder.Name, bytes, limits.DiskBudgetBytes);
            }
        }
        catch (IOException ex)
        {
            // A full cache is retried at the next download; the model being loaded is unaffected.
            LogEvictionFailed(logger, ex);
        }
    }

    private static bool IsSha256(string value) => value.Length == 64 && value.All(Uri.IsHexDigit);

    private static async Task<string> Sha256OfFileAsync(string path)
    {
        await using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(file));
    }

    public void Dispose()
    {
        lock (gate)
        {
            foreach (var entry in entries.Values)
            {
                if (entry.Load.IsValueCreated && entry.Load.Value.IsCompletedSuccessfully)
                {
                    entry.Load.Value.Result.Dispose();
                }
            }

            entries.Clear();
        }
    }

    private sealed class Entry(PinnedModel pin, long sizeBytes, Lazy<Task<ImageClassifier>> load)
    {
        public PinnedModel Pin { get; } = pin;

        public long SizeBytes { get; } = sizeBytes;

        public Lazy<Task<ImageClassifier>> Load { get; } = load;

        public int Users { get; set; }

        public long LastUse { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} ({Sha256}) verified and loaded from cache folder {Folder} in {Milliseconds:F0} ms")]
    private static partial void LogModelLoaded(ILogger logger, string model, string sha256, string folder, double milliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model}: downloaded {What} to {Path}")]
    private static partial void LogDownloaded(ILogger logger, string model, string what, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model cache: unloaded idle model version {Folder} (memory budget {Budget} bytes)")]
    private static partial void LogUnloaded(ILogger logger, string folder, long budget);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model cache: deleted folder {Folder} ({Bytes} bytes; disk budget {Budget} bytes)")]
    private static partial void LogDeleted(ILogger logger, string folder, long bytes, long budget);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model cache: could not free disk space")]
    private static partial void LogEvictionFailed(ILogger logger, Exception exception);
}
