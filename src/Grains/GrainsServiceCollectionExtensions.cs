using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MobileNet.Orleans.Grains.Diagnostics;
using MobileNet.Orleans.Grains.Jobs;
using MobileNet.Orleans.Grains.Jobs.State;
using MobileNet.Orleans.Grains.Models;
using MobileNet.Orleans.Grains.Results;
using MobileNet.Orleans.Grains.Storage;
using MobileNet.Orleans.Grains.Workers;

namespace MobileNet.Orleans.Grains;

public static class GrainsServiceCollectionExtensions
{
    /// <summary>
    /// Registers what the job grains and the silo's shard worker need. Call after <c>UseOrleans</c>: hosted services stop
    /// in reverse order, so the worker then drains while the silo can still reach the coordinators.
    /// </summary>
    public static IServiceCollection AddMobileNetGrains(this IServiceCollection services, Func<BlobClientOptions, BlobServiceClient> createBlobClient)
    {
        ArgumentNullException.ThrowIfNull(createBlobClient);
        services.AddMetrics();
        services.AddOptions<WorkerOptions>();
        services.AddOptions<CoordinatorOptions>();
        // Range checks of these come with the host's ValidateDataAnnotations; the rules across fields are checked here.
        services.AddOptions<StorageScopeOptions>().ValidateOnStart();
        services.AddOptions<ModelCacheOptions>().ValidateOnStart();
        services.AddSingleton<IValidateOptions<StorageScopeOptions>, StorageScopeOptionsValidator>();
        services.AddSingleton<IValidateOptions<ModelCacheOptions>, ModelCacheOptionsValidator>();
        services.AddSingleton<StorageScope>();
        services.AddSingleton(new JobStorage(createBlobClient));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<JobStateStore>();
        services.AddSingleton<Ledger.LedgerStore>();
        services.AddSingleton<JobMetrics>();
        services.AddSingleton<ModelCache>();
        services.AddSingleton<BlobTagWriter>();
        services.AddSingleton<ShardRunner>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ResultLinkSigner>();
        services.AddSingleton<ShardWorkerService>();
        services.AddHostedService(sp => sp.GetRequiredService<ShardWorkerService>());
        return services;
    }
}
