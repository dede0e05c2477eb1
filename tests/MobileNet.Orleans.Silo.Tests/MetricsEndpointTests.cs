using Azure.Storage.Blobs;
using MobileNet.Modeling.Architectures;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Storage;
using MobileNet.Orleans.Silo.Hosting;

namespace MobileNet.Orleans.Silo.Tests;

[Collection(SiloCollection.Name)]
public sealed class MetricsEndpointTests(SingleSiloFixture fixture)
{
    [SkippableFact]
    public async Task Metrics_Scrape_ServesPrometheusTextWithOrleansAndRuntimeMeters()
    {
        var silo = fixture.RequireSilo();

        var (status, body) = await silo.GetAsync(TelemetryExtensions.MetricsPath);

        Assert.Equal(200, status);
        Assert.Contains("# TYPE orleans_", body, StringComparison.Ordinal);
        Assert.NotNull(SiloTestData.Sample(body, "orleans_catalog_activations"));
        Assert.NotNull(SiloTestData.Sample(body, "dotnet_process_cpu_count"));
    }

    [SkippableFact]
    public async Task Metrics_DuringJob_PendingImagesFallsToZeroAndLabeledCountsEveryImage()
    {
        var silo = fixture.RequireSilo();
        var blobs = new BlobServiceClient(fixture.Storage!);
        const int images = 128;
        var model = TestStorage.NewId("model");
        // Full-size MobileNetV1 so the job takes seconds on one slot: long enough for scrapes to see it running.
        await SiloTestData.UploadModelAsync(blobs, model, new MobileNetSpec(MobileNetArchitecture.MobileNetV1, Width: 1.0, Resolution: 224, Classes: 10));
        var container = TestStorage.NewId("metrics");
        await SiloTestData.UploadImagesAsync(blobs.GetBlobContainerClient(container), "in/", images);
        var spec = new JobSpec
        {
            Source = new BlobPath { Container = container, Prefix = "in/" },
            ModelName = model,
            TopK = 3,
            ShardSize = 8,
            Output = new BlobPath { Container = container, Prefix = "out" },
        };
        var jobId = TestStorage.NewId("job");
        var job = fixture.Client.GetGrain<IJobCoordinatorGrain>(jobId);

        await job.SubmitAsync(spec);
        var pendingSeen = new List<double>();
        var final = await SiloTestData.WaitForEndAsync(job, TimeSpan.FromMinutes(3), async () =>
        {
            var (_, scrape) = await silo.GetAsync(TelemetryExtensions.MetricsPath);
            if (SiloTestData.Sample(scrape, "mobilenet_images_pending", jobId) is { } pending)
            {
                pendingSeen.Add(pending);
            }
        });
        // The worker records a shard's counts just after reporting it, and the exporter caches a scrape briefly:
        // give the last shard's numbers a few seconds to show.
        var after = await ScrapeUntilAsync(silo, s =>
            SiloTestData.Sample(s, "mobilenet_images_pending", jobId) == 0 && SiloTestData.Sample(s, "mobilenet_images_labeled_total", jobId) == images);

        Assert.Equal(JobState.Completed, final.State);
        Assert.Equal(images, final.Labeled);
        Assert.Contains(pendingSeen, p => p > 0);
        Assert.Equal(0, SiloTestData.Sample(after, "mobilenet_images_pending", jobId));
        Assert.Equal(images, SiloTestData.Sample(after, "mobilenet_images_labeled_total", jobId));
        Assert.NotNull(SiloTestData.Sample(after, "mobilenet_shard_duration_seconds_count", jobId));
        Assert.NotNull(SiloTestData.Sample(after, "mobilenet_model_load_duration_seconds_count"));
    }

    private static async Task<string> ScrapeUntilAsync(SiloProcess silo, Func<string, bool> condition)
    {
        var scrape = "";
        for (var i = 0; i < 50; i++)
        {
            (_, scrape) = await silo.GetAsync(TelemetryExtensions.MetricsPath);
            if (condition(scrape))
            {
                break;
            }

            await Task.Delay(200);
        }

        return scrape;
    }
}
