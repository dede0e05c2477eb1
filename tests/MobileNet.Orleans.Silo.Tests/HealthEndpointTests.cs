using System.Text.Json;
using MobileNet.Orleans.Silo.Hosting;

namespace MobileNet.Orleans.Silo.Tests;

[Collection(SiloCollection.Name)]
public sealed class HealthEndpointTests(SingleSiloFixture fixture)
{
    [SkippableFact]
    public async Task Ready_SiloActiveInCluster_Returns200WithEveryCheckHealthy()
    {
        var silo = fixture.RequireSilo();

        var (status, body) = await silo.GetAsync(HealthEndpoints.ReadyPath);

        Assert.Equal(200, status);
        using var json = JsonDocument.Parse(body);
        Assert.Equal("Healthy", json.RootElement.GetProperty("status").GetString());
        var checks = json.RootElement.GetProperty("checks");
        foreach (var check in new[] { "cluster-membership", "worker", "model-cache" })
        {
            Assert.Equal("Healthy", checks.GetProperty(check).GetProperty("status").GetString());
        }

        Assert.Contains("Active", checks.GetProperty("cluster-membership").GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Live_RunningSilo_Returns200()
    {
        var silo = fixture.RequireSilo();

        var (status, body) = await silo.GetAsync(HealthEndpoints.LivePath);

        Assert.Equal(200, status);
        Assert.Contains("\"status\":\"Healthy\"", body, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Ready_ModelCacheNotWritable_Returns503WhileLiveReturns200()
    {
        var storage = TestStorage.RequireConnectionString();
        // A directory below a regular file can never be created, whoever the process runs as (CI runs as root).
        var blocker = Path.Combine(Path.GetTempPath(), $"mobilenet-cache-blocker-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(blocker, "not a directory");
        var clusterId = TestStorage.NewId("nocache");
        try
        {
            await using var silo = SiloProcess.Start(new SiloLaunch(storage, clusterId, "nocache-1") { Settings = new Dictionary<string, string>
            {
                ["Silo__ServiceId"] = clusterId,
                ["Worker__CacheDirectory"] = Path.Combine(blocker, "cache"),
            } });

            await silo.WaitForStatusAsync(HealthEndpoints.LivePath, 200, TimeSpan.FromSeconds(60));
            // Wait until the silo has joined, so the 503 below is the cache's doing alone.
            await WaitUntilAsync(silo, body => body.Contains("is Active", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
            var (status, body) = await silo.GetAsync(HealthEndpoints.ReadyPath);

            Assert.Equal(503, status);
            using var json = JsonDocument.Parse(body);
            var cache = json.RootElement.GetProperty("checks").GetProperty("model-cache");
            Assert.Equal("Unhealthy", cache.GetProperty("status").GetString());
            Assert.Contains("not writable", cache.GetProperty("description").GetString(), StringComparison.Ordinal);
            Assert.Equal(200, (await silo.GetAsync(HealthEndpoints.LivePath)).Status);
        }
        finally
        {
            File.Delete(blocker);
        }
    }

    private static async Task WaitUntilAsync(SiloProcess silo, Func<string, bool> readyBody, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var (_, body) = await silo.GetAsync(HealthEndpoints.ReadyPath);
            if (readyBody(body))
            {
                return;
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{HealthEndpoints.ReadyPath} never showed the expected state: '{body}'\n{silo.Output}");
            }

            await Task.Delay(200);
        }
    }
}
