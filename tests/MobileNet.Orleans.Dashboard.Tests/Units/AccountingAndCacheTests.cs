using Microsoft.Extensions.Time.Testing;
using MobileNet.Inference;
using MobileNet.Orleans.Dashboard.Api;
using MobileNet.Orleans.Grains.Accounting;
using MobileNet.Orleans.Grains.Jobs.Progress;

namespace MobileNet.Orleans.Dashboard.Tests.Units;

public sealed class AccountingAndCacheTests
{
    [Fact]
    public void Sample_ImagesOfTwoJobs_SplitsCpuByImageCount()
    {
        var cpu = TimeSpan.FromSeconds(100);
        var meter = new SiloUsageMeter(() => cpu);
        meter.ShardStarted("a");
        meter.ShardStarted("b");
        for (var i = 0; i < 30; i++)
        {
            meter.ImageProcessed("a");
        }

        for (var i = 0; i < 10; i++)
        {
            meter.ImageProcessed("b");
        }

        cpu += TimeSpan.FromSeconds(8);
        var changed = meter.Sample();

        Assert.Equal(2, changed.Count);
        Assert.Equal(new JobUsage(30, 6), meter.UsageOf("a"));
        Assert.Equal(new JobUsage(10, 2), meter.UsageOf("b"));
        Assert.Equal(40, meter.ImagesProcessed);
    }

    [Fact]
    public void Sample_RunningWithoutImagesOrIdle_GoesToRunningJobsOrNobody()
    {
        var cpu = TimeSpan.Zero;
        var meter = new SiloUsageMeter(() => cpu);
        cpu += TimeSpan.FromSeconds(5);
        Assert.Empty(meter.Sample()); // idle: nothing runs, nobody pays

        meter.ShardStarted("a");
        cpu += TimeSpan.FromSeconds(2); // model load before the first image
        meter.Sample();
        meter.ImageProcessed("a");
        cpu += TimeSpan.FromSeconds(1);
        meter.Sample();
        meter.ShardEnded("a");
        cpu += TimeSpan.FromSeconds(9);
        meter.Sample();

        Assert.Equal(new JobUsage(1, 3), meter.UsageOf("a"));
        meter.Forget(["a"]);
        Assert.Null(meter.UsageOf("a"));
    }

    [Fact]
    public void Record_PastCapacity_ThinsOutAndKeepsTheWholeSpan()
    {
        var start = DateTimeOffset.UnixEpoch;
        var history = new ThroughputHistory(TimeSpan.FromSeconds(1), capacity: 10);
        for (var i = 0; i <= 100; i++)
        {
            history.Record(start.AddSeconds(i), i * 10);
        }

        var points = history.Snapshot(start.AddSeconds(100), 1000);
        Assert.InRange(points.Count, 5, 11);
        Assert.Equal(start, points[0].At);
        // The chart reaches the present within half an interval (a shorter last interval would be noise).
        Assert.True(points[^1].At >= start.AddSeconds(100) - (history.Spacing / 2), $"last point at {points[^1].At}");
        Assert.True(history.Spacing > TimeSpan.FromSeconds(1));
        Assert.True(points.Zip(points.Skip(1)).All(p => p.First.At < p.Second.At && p.First.Processed <= p.Second.Processed));
    }

    [Fact]
    public async Task GetAsync_ManyCallersWithinTtl_FetchOnce()
    {
        var time = new FakeTimeProvider();
        var cache = new SnapshotCache<int>(TimeSpan.FromSeconds(1.5), time);
        var fetches = 0;
        var gate = new TaskCompletionSource();
        async Task<int> Fetch()
        {
            Interlocked.Increment(ref fetches);
            await gate.Task;
            return fetches;
        }

        var concurrent = Enumerable.Range(0, 50).Select(_ => cache.GetAsync("k", Fetch)).ToArray();
        gate.SetResult();
        Assert.All(await Task.WhenAll(concurrent), v => Assert.Equal(1, v));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await cache.GetAsync("k", Fetch));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2, await cache.GetAsync("k", Fetch));
        Assert.Equal(2, fetches);
    }

    [Fact]
    public async Task GetAsync_FailedFetch_IsNotKept()
    {
        var cache = new SnapshotCache<int>(TimeSpan.FromMinutes(1), new FakeTimeProvider());
        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetAsync("k", () => Task.FromException<int>(new InvalidOperationException("down"))));
        Assert.Equal(7, await cache.GetAsync("k", () => Task.FromResult(7)));
    }

    [Theory]
    [InlineData("/dashboard/#/jobs/x", true)]
    [InlineData("/", true)]
    [InlineData("//evil.example/", false)]
    [InlineData("/\\evil.example", false)]
    [InlineData("https://evil.example/", false)]
    [InlineData("", false)]
    public void IsLocalPath_ReturnUrls_OnlyThisServer(string url, bool local) => Assert.Equal(local, DashboardEndpoints.IsLocalPath(url));

    [Fact]
    public void TryRender_PhotoAndJunk_BoundedJpegOrError()
    {
        var renderer = new ThumbnailRenderer();
        Assert.True(renderer.TryRender(TestImages.BlocksJpeg(3, size: 400), 128, 80, out var jpeg, out _));
        using var decoded = SkiaSharp.SKBitmap.Decode(jpeg);
        Assert.Equal(128, Math.Max(decoded.Width, decoded.Height));
        Assert.True(renderer.TryRender(TestImages.BlocksJpeg(4, size: 48), 128, 80, out var small, out _));
        using var notEnlarged = SkiaSharp.SKBitmap.Decode(small);
        Assert.Equal(48, notEnlarged.Width);
        Assert.False(renderer.TryRender("not an image"u8, 128, 80, out _, out var error));
        Assert.Equal(ImageErrorCodes.UnsupportedFormat, error!.Code);
        Assert.False(renderer.TryRender([], 128, 80, out _, out error));
        Assert.Equal(ImageErrorCodes.EmptyFile, error!.Code);
    }
}
