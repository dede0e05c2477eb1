using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;

using System.Globalization;
using System.Text.RegularExpressions;
using MobileNet.Modeling.Architectures;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Storage;
using MobileNet.Orleans.Silo.Hosting;

namespace MobileNet.Orleans.Silo.Tests;

/// <summary>Scale-in as Kubernetes does it: SIGTERM to a silo in the middle of a job.</summary>
[Collection(SiloCollection.Name)]
public sealed partial class GracefulShutdownTests
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(0.5);

    // The host gives Orleans DrainTimeout + 20 s to stop (SiloHostingExtensions); the pod's grace period must cover it.
    private static readonly TimeSpan ShutdownBudget = DrainTimeout + TimeSpan.FromSeconds(20);

    [SkippableFact]
    public async Task SigTerm_SiloLabelingShard_HandsWorkBackInTimeAndJobCompletesWithEveryImageOnce()
    {
        var storage = TestStorage.RequireConnectionString();
        var blobs = new BlobServiceClient(storage);
        var clusterId = TestStorage.NewId("drain");
        var settings = new Dictionary<string, string>
        {
            ["Silo__ServiceId"] = clusterId,
            ["Worker__DrainTimeout"] = DrainTimeout.ToString("c", CultureInfo.InvariantCulture),
            ["Worker__Slots"] = "1",
            ["Worker__BatchSize"] = "1",
            ["Worker__IntraOpThreads"] = "1",
        };
        await using var stays = SiloProcess.Start(new SiloLaunch(storage, clusterId, "drain-a") { Settings = settings });
        await using var leaves = SiloProcess.Start(new SiloLaunch(storage, clusterId, "drain-b") { Settings = settings });
        await stays.WaitForStatusAsync(HealthEndpoints.ReadyPath, 200, TimeSpan.FromSeconds(90));
        await leaves.WaitForStatusAsync(HealthEndpoints.ReadyPath, 200, TimeSpan.FromSeconds(90));
        using var client = await SiloTestData.StartClientAsync(storage, clusterId);

        const int images = 256;
        var model = TestStorage.NewId("model");
        // Full-size MobileNetV1 and 128-image shards: a shard takes well over the drain timeout even on a fast
        // machine, so the one running at SIGTERM is handed back.
        await SiloTestData.UploadModelAsync(blobs, model, new MobileNetSpec(MobileNetArchitecture.MobileNetV1, Width: 1.0, Resolution: 224, Classes: 10));
        var container = TestStorage.NewId("drain");
        var uploaded = await SiloTestData.UploadImagesAsync(blobs.GetBlobContainerClient(container), "in/", images);
        var spec = new JobSpec
        {
            Source = new BlobPath { Container = container, Prefix = "in/" },
            ModelName = model,
            TopK = 1,
            ShardSize = 128,
            Output = new BlobPath { Container = container, Prefix = "out" },
        };
        var jobId = TestStorage.NewId("job");
        var job = client.Services.GetRequiredService<IClusterClient>().GetGrain<IJobCoordinatorGrain>(jobId);
        await job.SubmitAsync(spec);

        // SIGTERM as soon as the leaving silo is in the middle of a shard.
        await WaitForInFlightAsync(leaves, TimeSpan.FromMinutes(2));
        var exitAfter = await leaves.TerminateAndWaitAsync(ShutdownBudget + TimeSpan.FromSeconds(30));
        var final = await SiloTestData.WaitForEndAsync(job, TimeSpan.FromMinutes(3));
        var rows = await SiloTestData.ReadResultImagesAsync(blobs, spec, jobId);

        Assert.True(exitAfter < ShutdownBudget, $"silo took {exitAfter} to stop after SIGTERM (budget {ShutdownBudget})\n{leaves.Output}");
        Assert.Equal(0, leaves.ExitCode);
        var drained = Drained().Match(leaves.Output);
        Assert.True(drained.Success, $"the leaving silo logged no drain\n{leaves.Output}");
        Assert.True(int.Parse(drained.Groups["back"].Value, CultureInfo.InvariantCulture) >= 1, $"no shard was handed back: {drained.Value}");
        Assert.Equal(JobState.Completed, final.State);
        Assert.Equal(images, final.Labeled);
        Assert.Equal(0, final.Errors);
        Assert.Equal(images, rows.Count);
        Assert.Equal(uploaded.Order(StringComparer.Ordinal), rows.Order(StringComparer.Ordinal));
    }

    private static async Task WaitForInFlightAsync(SiloProcess silo, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            var (_, scrape) = await silo.GetAsync(TelemetryExtensions.MetricsPath);
            if (SiloTestData.Sample(scrape, "mobilenet_images_in_flight") > 0)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"silo {silo.Name} never started a shard\n{silo.Output}");
    }

    [GeneratedRegex(@"drained: (?<done>\d+) shards finished, (?<back>\d+) handed back")]
    private static partial Regex Drained();
}
