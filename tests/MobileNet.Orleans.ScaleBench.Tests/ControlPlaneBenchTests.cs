using System.Globalization;

namespace MobileNet.Orleans.ScaleBench.Tests;

/// <summary>
/// The load test behind `scripts/bench-scale.sh control`, run small: it broke once without any test noticing (the
/// silo's start-up validation refused its host), so the suite now runs it end to end on the test storage.
/// </summary>
public sealed class ControlPlaneBenchTests
{
    [SkippableFact]
    public async Task RunAsync_TwoSmallJobs_PrintsOneLinePerCompletedJob()
    {
        var storage = TestStorage.RequireConnectionString();
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var progress = new StringWriter(CultureInfo.InvariantCulture);

        var exit = await ControlPlaneBench.RunAsync(
            ["--storage", storage, "--images", "3000,6400", "--workers", "20", "--segment-size", "16",
             "--silo-port", FreePort.Next().ToString(CultureInfo.InvariantCulture), "--gateway-port", FreePort.Next().ToString(CultureInfo.InvariantCulture)],
            output, progress);

        Assert.True(exit == 0, progress.ToString());
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("images", lines[0], StringComparison.Ordinal);
        // images, shards (64 images each), workers, then rates and bytes that must be real measurements.
        AssertJobLine(lines[1], images: 3000, shards: 47);
        AssertJobLine(lines[2], images: 6400, shards: 100);
    }

    [Theory]
    [InlineData("--images", "1000")]
    [InlineData("--storage", "UseDevelopmentStorage=true")]
    [InlineData("--storage", "UseDevelopmentStorage=true", "--images", "1000,zero")]
    [InlineData("--storage", "UseDevelopmentStorage=true", "--images", "1000", "--workers", "-3")]
    [InlineData("--storage", "UseDevelopmentStorage=true", "--images", "1000", "--workers")]
    public async Task RunAsync_BadArguments_PrintsUsageAndReturnsTwo(params string[] args)
    {
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var progress = new StringWriter(CultureInfo.InvariantCulture);

        var exit = await ControlPlaneBench.RunAsync(args, output, progress);

        Assert.Equal(2, exit);
        Assert.StartsWith("usage: mobilenet-scale-bench", progress.ToString(), StringComparison.Ordinal);
        Assert.Equal("", output.ToString());
    }

    private static void AssertJobLine(string line, int images, int shards)
    {
        var columns = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(c => double.Parse(c, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(14, columns.Length);
        Assert.Equal(images, columns[0]);
        Assert.Equal(shards, columns[1]);
        Assert.Equal(20, columns[2]);
        Assert.All(columns[3..7], value => Assert.True(value > 0, line));
        // With 16-shard segments no write can come near the whole job's records (272 bytes a shard before segments).
        Assert.True(columns[6] < 16 * 272, line);
    }
}
