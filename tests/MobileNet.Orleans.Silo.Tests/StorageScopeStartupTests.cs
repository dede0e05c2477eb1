namespace MobileNet.Orleans.Silo.Tests;

/// <summary>The storage scope is validated when the silo starts: a scope covering the service's own containers is refused.</summary>
[Collection(SiloCollection.Name)]
public sealed class StorageScopeStartupTests
{
    [SkippableFact]
    public async Task Start_ScopeCoveringServiceContainer_ExitsWithTheReason()
    {
        var output = await OptionsStartupTests.StartExpectingExitAsync("badscope", new Dictionary<string, string>
        {
            ["StorageScope__Write__0"] = "mobilenet-*",
        });

        Assert.Contains("StorageScope:Write entry 'mobilenet-*' covers the service container", output, StringComparison.Ordinal);
    }
}
