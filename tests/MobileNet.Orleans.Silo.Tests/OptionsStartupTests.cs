using System.Diagnostics;

namespace MobileNet.Orleans.Silo.Tests;

/// <summary>Settings that cannot work together, or that moved to their owner's section, stop the silo on start with the reason.</summary>
[Collection(SiloCollection.Name)]
public sealed class OptionsStartupTests
{
    [SkippableFact]
    public async Task Start_RenewIntervalNotUnderHalfTheLease_ExitsNamingBothSettings()
    {
        var output = await StartExpectingExitAsync("badlease", new Dictionary<string, string>
        {
            ["Worker__LeaseRenewInterval"] = "00:00:08",
            ["Coordinator__LeaseDuration"] = "00:00:10",
        });

        Assert.Contains("Worker:LeaseRenewInterval (00:00:08) must be at most half of Coordinator:LeaseDuration (00:00:10)", output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Start_DrainTimeoutInTheSiloSection_ExitsNamingItsOwner()
    {
        // One owner per setting: the worker drains, so Worker:DrainTimeout; the old key is refused, never silently ignored.
        var output = await StartExpectingExitAsync("olddrain", new Dictionary<string, string> { ["Silo__DrainTimeout"] = "00:00:05" });

        Assert.Contains("Silo:DrainTimeout is now Worker:DrainTimeout (env Worker__DrainTimeout)", output, StringComparison.Ordinal);
    }

    /// <summary>Starts a silo that must refuse to run: waits for it to exit non-zero and returns what it printed.</summary>
    internal static async Task<string> StartExpectingExitAsync(string name, Dictionary<string, string> settings)
    {
        var storage = TestStorage.RequireConnectionString();
        var clusterId = TestStorage.NewId(name);
        await using var silo = SiloProcess.Start(new SiloLaunch(storage, clusterId, name + "-1") { Settings = settings });

        var clock = Stopwatch.StartNew();
        while (!silo.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(200);
        }

        Assert.True(silo.HasExited, $"the silo started with invalid settings: {silo.Output}");
        Assert.NotEqual(0, silo.ExitCode);
        return silo.Output;
    }
}
