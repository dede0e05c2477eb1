using System.Diagnostics.Metrics;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MobileNet.Orleans.Contracts.Models;
using MobileNet.Orleans.Grains.Diagnostics;
using MobileNet.Orleans.Grains.Models;
using MobileNet.Orleans.Grains.Storage;
using MobileNet.Orleans.Grains.Workers;

namespace MobileNet.Orleans.Grains.Tests;

/// <summary>One silo's model cache against the test storage: folders per model version, size cap, LRU budgets.</summary>
public sealed class ModelCacheTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "mobilenet-cache-tests-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    [Fact]
    public void FolderKey_SameOnnxOtherLabelsOrDescription_OtherFolder()
    {
        var pin = new PinnedModel { Name = "m", Sha256 = new string('a', 64), LabelsSha256 = new string('b', 64) };

        var keys = new[]
        {
            ModelCache.FolderKey(pin),
            ModelCache.FolderKey(pin with { LabelsSha256 = new string('c', 64) }),
            ModelCache.FolderKey(pin with { LabelsSha256 = null }),
            ModelCache.FolderKey(pin with { DescriptionSha256 = new string('b', 64) }),
        };

        Assert.Equal(keys.Length, keys.Distinct().Count());
        Assert.Equal(keys[0], ModelCache.FolderKey(pin with { Name = "other-name-same-files" }));
    }

    [Fact]
    public void Validator_BudgetBelowMaxModelSize_FailsStart()
    {
        var result = new ModelCacheOptionsValidator().Validate(null, new ModelCacheOptions { MaxModelBytes = 100, DiskBudgetBytes = 99, MemoryBudgetBytes = 50 });

        Assert.True(result.Failed);
        Assert.Contains("DiskBudgetBytes (99) must be at least ModelCache:MaxModelBytes (100)", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("MemoryBudgetBytes (50)", result.FailureMessage, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task AcquireAsync_ModelOverMaxSize_RefusedAsTooLargeWithoutDownloading()
    {
        var (cache, _) = Create(new ModelCacheOptions { MaxModelBytes = 1000, DiskBudgetBytes = 1000, MemoryBudgetBytes = 1000 });
        var pin = new PinnedModel { Name = "t-none", Sha256 = new string('a', 64), SizeBytes = 1001 };

        var refused = await Assert.ThrowsAsync<ModelUnavailableException>(() => cache.AcquireAsync(pin, CancellationToken.None));

        Assert.Equal(ModelUnavailableReason.TooLarge, refused.Reason);
        Assert.StartsWith("model-too-large: ", refused.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any());
    }

    [SkippableFact]
    public async Task AcquireAsync_BudgetsForOneModel_LeastRecentlyUsedIdleVersionsUnloadedAndDeleted()
    {
        var size = ModelStoreTestData.TinyOnnx.Value.Length;
        // Room for one model version in memory and about one on disk (a version's folder is its ONNX plus labels).
        var (cache, blobs) = Create(new ModelCacheOptions { MaxModelBytes = size, MemoryBudgetBytes = size, DiskBudgetBytes = size + 4096 });
        var name = "t-lru-" + Guid.NewGuid().ToString("N")[..8];
        var pins = new List<PinnedModel>();
        foreach (var prefix in new[] { "a", "b", "c" })
        {
            pins.Add((await ModelStoreTestData.UploadAsync(blobs, name, ModelStoreTestData.TinyOnnx.Value, ModelStoreTestData.Labels(prefix), null)).Pin());
        }

        using (var a = await cache.AcquireAsync(pins[0], CancellationToken.None))
        {
            Assert.Equal("a0", a.Classifier.Labels[0]);
        }

        using (var b = await cache.AcquireAsync(pins[1], CancellationToken.None))
        {
            Assert.Equal("b0", b.Classifier.Labels[0]);
        }

        // Memory: a, the least recently used, was unloaded for b.
        Assert.Equal(1, cache.LoadedCount);
        using (var c = await cache.AcquireAsync(pins[2], CancellationToken.None))
        {
            Assert.Equal("c0", c.Classifier.Labels[0]);
            // Disk: a's folder (least recently used, not loaded) went for c's; b's is kept while b is loaded.
            Assert.False(Directory.Exists(Path.Combine(directory, ModelCache.FolderKey(pins[0]))));
            Assert.True(Directory.Exists(Path.Combine(directory, ModelCache.FolderKey(pins[1]))));

            // A version unloaded and deleted is simply loaded again when a job needs it, and a model in use (c) is
            // never unloaded for it, whatever the budget.
            using var again = await cache.AcquireAsync(pins[0], CancellationToken.None);
            Assert.Equal("a0", again.Classifier.Labels[0]);
            Assert.Equal(2, cache.LoadedCount);
        }

        Assert.Equal(1, cache.LoadedCount);
    }

    [SkippableFact]
    public async Task AcquireAsync_PinnedArtifactReplacedInStore_FailsAsHashMismatch()
    {
        var (cache, blobs) = Create(new ModelCacheOptions());
        var name = "t-swap-" + Guid.NewGuid().ToString("N")[..8];
        var pin = (await ModelStoreTestData.UploadAsync(blobs, name, ModelStoreTestData.TinyOnnx.Value, ModelStoreTestData.Labels("a"), null)).Pin();
        await blobs.GetBlobContainerClient(ModelStoreLayout.Container).GetBlobClient(ModelStoreLayout.ArtifactBlob(name, pin.LabelsSha256!))
            .UploadAsync(BinaryData.FromString(ModelStoreTestData.Labels("z")), overwrite: true);

        var refused = await Assert.ThrowsAsync<ModelUnavailableException>(() => cache.AcquireAsync(pin, CancellationToken.None));

        Assert.Equal(ModelUnavailableReason.HashMismatch, refused.Reason);
        Assert.Contains("labels SHA-256", refused.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        services.Dispose();
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private (ModelCache Cache, BlobServiceClient Blobs) Create(ModelCacheOptions limits)
    {
        var connection = TestStorage.RequireConnectionString();
        var storage = new JobStorage(options => new BlobServiceClient(connection, options));
        var cache = new ModelCache(
            storage,
            Options.Create(new WorkerOptions { CacheDirectory = directory }),
            Options.Create(limits),
            new JobMetrics(services.GetRequiredService<IMeterFactory>()),
            NullLogger<ModelCache>.Instance);
        return (cache, new BlobServiceClient(connection));
    }
}
