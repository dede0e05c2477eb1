using System.Security.Cryptography;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MobileNet.Modeling.Architectures;
using MobileNet.Orleans.Contracts.Models;
using MobileNet.Orleans.Grains.Jobs;
using MobileNet.Orleans.Grains.Storage;
using MobileNet.Orleans.Grains.Workers;
using MobileNet.Orleans.Security.Certificates;
using MobileNet.Orleans.Security.Hosting;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace MobileNet.Orleans.Grains.Tests;

/// <summary>
/// One Orleans <see cref="TestCluster"/> (two silos) shared by the job tests, on the test Azurite
/// (MOBILENET_TEST_STORAGE): blob grain storage, the model store, images and results all live there, as in a real
/// cluster. Timings are short (lease 4 s, fast membership) so failure tests finish in seconds.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    /// <summary>A tiny generated MobileNet V1 (width 0.25, 96 px, 10 classes): fast, its labels mean nothing.</summary>
    public const string TinyModel = "tiny-v1";

    /// <summary>A model whose manifest SHA-256 does not match its file: every silo refuses to load it.</summary>
    public const string BrokenModel = "broken-v1";

    public TestCluster? Cluster { get; private set; }

    public BlobServiceClient? Blobs { get; private set; }

    public string? SkipReason { get; private set; }

    public async Task InitializeAsync()
    {
        SkipReason = TestStorage.SkipReason;
        if (SkipReason is not null)
        {
            return;
        }

        var connection = Environment.GetEnvironmentVariable(TestStorage.Variable)!;

        var suffix = Guid.NewGuid().ToString("N")[..10];
        TestSiloConfigurator.Connection = connection;
        TestSiloConfigurator.StateContainerSuffix = suffix;
        TestSiloConfigurator.CacheDirectory = Path.Combine(Path.GetTempPath(), "mobilenet-grain-tests-" + suffix);
        Blobs = new BlobServiceClient(connection);
        await UploadModelsAsync(Blobs);

        var builder = new TestClusterBuilder(2);
        builder.Options.ClusterId = "grains-" + suffix;
        builder.Options.ServiceId = "grains-tests-" + suffix;
        builder.AddSiloBuilderConfigurator<TestSiloConfigurator>();
        builder.AddClientBuilderConfigurator<TestClientConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.StopAllSilosAsync();
            await Cluster.DisposeAsync();
        }

        if (TestSiloConfigurator.CacheDirectory is { } cache && Directory.Exists(cache))
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    /// <summary>The shard workers of the silos now running.</summary>
    public IEnumerable<ShardWorkerService> Workers =>
        Cluster!.Silos.OfType<InProcessSiloHandle>().Select(s => s.SiloHost.Services.GetRequiredService<ShardWorkerService>());

    private static async Task UploadModelsAsync(BlobServiceClient blobs)
    {
        var models = blobs.GetBlobContainerClient(ModelStoreLayout.Container);
        await models.CreateIfNotExistsAsync();
        var tiny = GeneratedModels.Bytes(new MobileNetSpec(MobileNetArchitecture.MobileNetV1, Width: 0.25, Resolution: 96, Classes: 10));
        foreach (var (name, sha) in new[] { (TinyModel, Convert.ToHexStringLower(SHA256.HashData(tiny))), (BrokenModel, new string('0', 64)) })
        {
            // Same layout and order as 'mobilenet models upload': files first, manifest last.
            await models.GetBlobClient(ModelStoreLayout.ModelBlob(name)).UploadAsync(BinaryData.FromBytes(tiny), overwrite: true);
            var manifest = new ModelManifest { Name = name, Sha256 = sha, SizeBytes = tiny.Length, UploadedAt = DateTimeOffset.UtcNow };
            await models.GetBlobClient(ModelStoreLayout.ManifestBlob(name)).UploadAsync(BinaryData.FromString(ModelManifestJson.Serialize(manifest)), overwrite: true);
        }
    }
}

/// <summary>Configures each test silo like the real host, with short timings.</summary>
public sealed class TestSiloConfigurator : ISiloConfigurator
{
    // TestCluster creates configurators itself; the fixture hands them the settings through these (same process).
    internal static string? Connection { get; set; }

    internal static string? StateContainerSuffix { get; set; }

    internal static string? CacheDirectory { get; set; }

    public void Configure(ISiloBuilder siloBuilder)
    {
        var connection = Connection ?? throw new InvalidOperationException("ClusterFixture sets the connection first");
        siloBuilder.AddAzureBlobGrainStorage("jobs", o =>
        {
            o.BlobServiceClient = new BlobServiceClient(connection);
            o.ContainerName = "t-job-state-" + StateContainerSuffix;
        });
        siloBuilder.AddAzureBlobGrainStorage("registry", o =>
        {
            o.BlobServiceClient = new BlobServiceClient(connection);
            o.ContainerName = "t-registry-state-" + StateContainerSuffix;
        });
        siloBuilder.UseInMemoryReminderService();
        // Mutual TLS and signed, role-checked calls, as in production.
        siloBuilder.UseMobileNetSecurity(TlsIdentity.Load(TestCertificates.Shared.Silo));
        siloBuilder.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = TimeSpan.FromSeconds(1);
            o.NumMissedProbesLimit = 2;
            o.NumVotesForDeathDeclaration = 1;
        });
        siloBuilder.Services.AddMobileNetGrains(options => new BlobServiceClient(connection, options));
        siloBuilder.Services.Configure<WorkerOptions>(o =>
        {
            o.Slots = 2;
            o.IntraOpThreads = 1;
            o.LeaseRenewInterval = TimeSpan.FromMilliseconds(500);
            o.PollInterval = TimeSpan.FromMilliseconds(200);
            o.ActiveJobsCacheTime = TimeSpan.FromMilliseconds(500);
            o.CallTimeout = TimeSpan.FromSeconds(5);
            o.DrainTimeout = TimeSpan.FromSeconds(5);
            o.CacheDirectory = CacheDirectory!;
        });
        // Every container of these tests is named t-... (JobTestData.UniqueContainer).
        siloBuilder.Services.Configure<StorageScopeOptions>(o =>
        {
            o.Read.Add("t-*");
            o.Write.Add("t-*");
        });
        siloBuilder.Services.Configure<CoordinatorOptions>(o =>
        {
            o.LeaseDuration = TimeSpan.FromSeconds(4);
            o.HousekeepingInterval = TimeSpan.FromMilliseconds(250);
            o.PersistInterval = TimeSpan.FromMilliseconds(250);
        });
    }
}

/// <summary>
/// The test client speaks TLS with a silo certificate: these tests drive the coordinator as the workers do (lease,
/// complete), which no client certificate may (the Client and Silo tests check that with real processes).
/// </summary>
public sealed class TestClientConfigurator : IClientBuilderConfigurator
{
    public void Configure(IConfiguration configuration, IClientBuilder clientBuilder) =>
        clientBuilder.UseMobileNetSecurity(TlsIdentity.Load(TestCertificates.Shared.Silo));
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
