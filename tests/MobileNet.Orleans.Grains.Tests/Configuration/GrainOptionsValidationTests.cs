using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MobileNet.Orleans.Grains.Jobs;
using MobileNet.Orleans.Grains.Models;
using MobileNet.Orleans.Grains.Storage;
using MobileNet.Orleans.Grains.Workers;

namespace MobileNet.Orleans.Grains.Tests.Configuration;

/// <summary>AddMobileNetGrains checks every options class on start, whichever host (silo, test cluster) registers the grains.</summary>
public sealed class GrainOptionsValidationTests
{
    [Fact]
    public void Start_Defaults_Valid()
    {
        using var provider = Services().BuildServiceProvider();

        provider.GetRequiredService<IStartupValidator>().Validate();
    }

    [Fact]
    public void Start_RenewIntervalNotUnderHalfTheLease_FailsNamingBothSettings()
    {
        var services = Services();
        services.Configure<WorkerOptions>(o => o.LeaseRenewInterval = TimeSpan.FromSeconds(15));
        using var provider = services.BuildServiceProvider();

        var error = StartFailure(provider);

        Assert.Contains("Worker:LeaseRenewInterval (00:00:15) must be at most half of Coordinator:LeaseDuration (00:00:20)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_HousekeepingAsLongAsTheLease_Fails()
    {
        var services = Services();
        services.Configure<CoordinatorOptions>(o =>
        {
            o.LeaseDuration = TimeSpan.FromSeconds(5);
            o.HousekeepingInterval = TimeSpan.FromSeconds(5);
        });
        services.Configure<WorkerOptions>(o => o.LeaseRenewInterval = TimeSpan.FromSeconds(1));
        using var provider = services.BuildServiceProvider();

        var error = StartFailure(provider);

        Assert.Equal("Coordinator:HousekeepingInterval (00:00:05) must be shorter than Coordinator:LeaseDuration (00:00:05), or expired leases are noticed a whole lease late", error.Message);
    }

    [Fact]
    public void Start_RangeBroken_FailsWithoutTheHostValidatingToo()
    {
        // The ranges come with the grains' registration: a host that only configures (a test cluster) is checked as well.
        var services = Services();
        services.Configure<WorkerOptions>(o => o.BatchSize = 0);
        services.Configure<ModelCacheOptions>(o => o.MaxModelBytes = 0);
        using var provider = services.BuildServiceProvider();

        var error = StartFailure(provider);

        Assert.Contains("BatchSize", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxModelBytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WorkerOptionsValidator_RenewExactlyHalfTheLease_Valid()
    {
        var validator = new WorkerOptionsValidator(Options.Create(new CoordinatorOptions { LeaseDuration = TimeSpan.FromSeconds(6) }));

        var result = validator.Validate(null, new WorkerOptions { LeaseRenewInterval = TimeSpan.FromSeconds(3) });

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    /// <summary>What the host's start reports (one failure, or all of them when several options classes fail).</summary>
    private static Exception StartFailure(ServiceProvider provider)
    {
        var error = Assert.ThrowsAny<Exception>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.All(error is AggregateException all ? all.InnerExceptions : [error], e => Assert.IsType<OptionsValidationException>(e));
        return error;
    }

    private static ServiceCollection Services()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMobileNetGrains(options => new BlobServiceClient("UseDevelopmentStorage=true", options));
        services.Configure<StorageScopeOptions>(o =>
        {
            o.Read.Add("photos");
            o.Write.Add("results");
        });
        return services;
    }
}
