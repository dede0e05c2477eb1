using System.Diagnostics;

namespace MobileNet.Orleans.Silo.Tests;

/// <summary>The storage scope is validated when the silo starts: a scope covering the service's own containers is refused.</summary>
[Collection(SiloCollection.Name)]
public sealed class StorageScopeStartupTests
{
    [SkippableFact]
    public async Task Start_ScopeCoveringServiceContainer_ExitsWithTheReason()
    {
        var storage = TestStorage.RequireConnectionString();
        var clusterId = TestStorage.NewId("badscope");
        await using var silo = SiloProcess.Start(new SiloLaunch(storage, clusterId, "badscope-1") { Settings = new Dictionary<string, string>
        {
            ["Silo__ServiceId"] = clusterId,
            ["StorageScope__Write__0"] = "mobilenet-*",
        } });

        var clock = Stopwatch.StartNew();
        while (!silo.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(200);
        }

        Assert.True(silo.HasExited, "the silo started with a storage scope covering the service's containers");
        Assert.NotEqual(0, silo.ExitCode);
        Assert.Contains("StorageScope:Write entry 'mobilenet-*' covers the service container", silo.Output, StringComparison.Ordinal);
    }
}
