using Microsoft.Extensions.DependencyInjection;

namespace MobileNet.Orleans.Silo.Tests;

/// <summary>
/// The silo process tests run one after another: each starts real silos, and the suite shares two cores with
/// every other test assembly. The fixture's silo serves the health and metrics tests.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SiloCollection : ICollectionFixture<SingleSiloFixture>
{
    public const string Name = "silo processes";
}

/// <summary>One running silo (1 slot, 1 inference thread) of its own cluster, and a client of that cluster.</summary>
public sealed class SingleSiloFixture : IAsyncLifetime
{
    private Microsoft.Extensions.Hosting.IHost? client;

    internal string? Storage { get; private set; }

    internal string ClusterId { get; } = TestStorage.NewId("single");

    internal SiloProcess? Silo { get; private set; }

    internal IClusterClient Client => client!.Services.GetRequiredService<IClusterClient>();

    public async Task InitializeAsync()
    {
        Storage = Environment.GetEnvironmentVariable(TestStorage.Variable);
        if (string.IsNullOrWhiteSpace(Storage))
        {
            return; // Each test skips, saying why.
        }

        Silo = SiloProcess.Start(new SiloLaunch(Storage, ClusterId, "single-1") { Settings = new Dictionary<string, string>
        {
            ["Silo__ServiceId"] = ClusterId,
            ["Worker__Slots"] = "1",
            ["Worker__BatchSize"] = "1",
            ["Worker__IntraOpThreads"] = "1",
            // Coordinators publish the pending-images gauge on each housekeeping turn: often, so scrapes see a short job.
            ["Coordinator__HousekeepingInterval"] = "00:00:00.200",
        } });
        await Silo.WaitForStatusAsync(Hosting.HealthEndpoints.ReadyPath, 200, TimeSpan.FromSeconds(90));
        client = await SiloTestData.StartClientAsync(Storage, ClusterId);
    }

    /// <summary>The running silo; skips the test when there is no test storage.</summary>
    internal SiloProcess RequireSilo()
    {
        TestStorage.RequireConnectionString();
        return Silo!;
    }

    public async Task DisposeAsync()
    {
        if (client is not null)
        {
            await client.StopAsync();
            client.Dispose();
        }

        if (Silo is not null)
        {
            await Silo.DisposeAsync();
        }
    }
}
