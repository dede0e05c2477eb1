using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MobileNet.Orleans.Grains.Accounting;
using MobileNet.Orleans.Grains.Diagnostics;
using MobileNet.Orleans.Grains.Jobs;
using MobileNet.Orleans.Grains.Jobs.State;
using MobileNet.Orleans.Grains.Models;
using MobileNet.Orleans.Grains.Resilience;
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
        // Every options class is checked when the host starts, whoever hosts the grains (a silo, a test cluster):
        // ranges by their attributes, rules across fields by their validators. Hosts only bind or configure them.
        services.AddOptions<WorkerOptions>().ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<CoordinatorOptions>().ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<StorageScopeOptions>().ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ModelCacheOptions>().ValidateDataAnnotations().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WorkerOptions>, WorkerOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CoordinatorOptions>, CoordinatorOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StorageScopeOptions>, StorageScopeOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelCacheOptions>, ModelCacheOptionsValidator>());
        services.AddSiloResiliencePipelines();
        services.AddSingleton<StorageScope>();
        services.AddSingleton(new JobStorage(createBlobClient));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<JobStateStore>();
        services.AddSingleton<Ledger.LedgerStore>();
        services.AddSingleton<JobMetrics>();
        services.AddSingleton<ModelCache>();
        services.AddSingleton<BlobTagWriter>();
        services.AddSingleton<ShardRunner>();
        services.AddSingleton<ResultLinkSigner>();
        services.AddSingleton<ShardWorkerService>();
        services.AddHostedService(sp => sp.GetRequiredService<ShardWorkerService>());
        services.AddSingleton(new SiloUsageMeter(() => Environment.CpuUsage.TotalTime));
        services.AddSingleton<JobUsageReporter>();
        services.AddSingleton<SiloUsageReporter>();
        services.AddHostedService(sp => sp.GetRequiredService<SiloUsageReporter>());
        return services;
    }
}
