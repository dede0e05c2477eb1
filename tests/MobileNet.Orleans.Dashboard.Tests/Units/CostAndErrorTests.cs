using MobileNet.Orleans.Client.Jobs;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Storage;
using MobileNet.Orleans.Grains.Jobs.Progress;

namespace MobileNet.Orleans.Dashboard.Tests.Units;

public sealed class CostAndErrorTests
{
    private static JobStatus Status(JobState state, long total, long labeled, long errors, double rate, params SiloShare[] silos) => new()
    {
        JobId = "job-test1",
        State = state,
        Spec = new JobSpec { Source = new BlobPath { Container = "src" }, Output = new BlobPath { Container = "out" }, ModelName = "m" },
        TotalImages = total,
        ListingComplete = true,
        Labeled = labeled,
        Errors = errors,
        ImagesPerSecond = rate,
        Silos = silos,
    };

    [Fact]
    public void Of_TwoReportingSilos_SumsCpuImagesAndCores()
    {
        var status = Status(JobState.Running, 10_000, 3_000, 0, 40,
            new SiloShare { Silo = "a", Labeled = 2_000, Cores = 4, CpuSeconds = 100, AccountedImages = 2_000 },
            new SiloShare { Silo = "b", Labeled = 1_000, Cores = 4, CpuSeconds = 60, AccountedImages = 1_000 },
            new SiloShare { Silo = "c", Labeled = 0 });

        var e = JobEfficiency.Of(status, 0.36m);

        Assert.Equal(160.0 * 1000 / 3000, e.CpuSecondsPer1000Images!.Value, 6);
        Assert.Equal(40.0 / 8, e.ImagesPerSecondPerCore!.Value, 6);
        Assert.Equal(2, e.Nodes);
        // 1,000 images at 40/s = 25 s on 2 nodes at 0.36/h: 2 x 0.36 x 25 / 3600 = 0.005.
        Assert.Equal(0.005m, decimal.Round(e.CostPer1000Images!.Value, 6));
        // 7,000 left at 40/s = 175 s: 2 x 0.36 x 175 / 3600 = 0.035.
        Assert.Equal(0.035m, decimal.Round(e.ProjectedRemainingCost!.Value, 6));
    }

    [Fact]
    public void Of_NoUsageOrNoPrice_LeavesFiguresUnknown()
    {
        var e = JobEfficiency.Of(Status(JobState.Running, 100, 10, 0, 5, new SiloShare { Silo = "a", Labeled = 10 }));
        Assert.Null(e.CpuSecondsPer1000Images);
        Assert.Null(e.ImagesPerSecondPerCore);
        Assert.Null(e.CostPer1000Images);
        Assert.Throws<ArgumentOutOfRangeException>(() => JobEfficiency.Of(Status(JobState.Running, 1, 0, 0, 0), -1m));
    }

    [Fact]
    public void Of_EndedJob_ProjectsNothingMore()
    {
        var e = JobEfficiency.Of(Status(JobState.Completed, 100, 100, 0, 10, new SiloShare { Silo = "a", Labeled = 100, Cores = 2, CpuSeconds = 5, AccountedImages = 100 }), 1m);
        Assert.Equal(0m, e.ProjectedRemainingCost);
    }

    [Fact]
    public void Tally_MergesShardsBoundedExamplesAndShardFailures()
    {
        var tally = new ErrorClassTally();
        tally.Add([new ErrorClass { Code = "corrupt-image", Count = 2, Examples = ["a.jpg", "b.jpg"] }, new ErrorClass { Code = "not-found", Count = 1, Examples = ["c.jpg"] }]);
        tally.Add([new ErrorClass { Code = "corrupt-image", Count = 5, Examples = ["d.jpg", "e.jpg", "a.jpg"] }]);

        var classes = tally.Snapshot(64, [new ShardFailure { ShardId = 7, Reason = "model-load-failed: x", Images = 64 }]);

        Assert.Equal(["shard-failed", "corrupt-image", "not-found"], classes.Select(c => c.Code));
        Assert.Equal(64, classes[0].Count);
        Assert.Equal("shard 7: model-load-failed: x", Assert.Single(classes[0].Examples));
        Assert.Equal(7, classes[1].Count);
        Assert.Equal(["a.jpg", "b.jpg", "d.jpg"], classes[1].Examples);
    }

    [Fact]
    public void Tally_ManyCodes_FoldsTheRestIntoOther()
    {
        var tally = new ErrorClassTally();
        tally.Add(Enumerable.Range(0, 50).Select(i => new ErrorClass { Code = $"code-{i}", Count = 1 }));
        var classes = tally.Snapshot();
        Assert.Equal(ErrorClass.MaxClasses, classes.Count);
        Assert.Equal(50, classes.Sum(c => c.Count));
        Assert.Equal(50 - (ErrorClass.MaxClasses - 1), classes.Single(c => c.Code == ErrorClassTally.OtherCode).Count);
    }

    [Theory]
    [InlineData("corrupt-image: decoder failed: x", "corrupt-image")]
    [InlineData("not-found", "not-found")]
    [InlineData("has spaces: reason", "error")]
    [InlineData(": nothing", "error")]
    public void CodeOf_ErrorRowText_IsTheCodeBeforeTheColon(string error, string code) => Assert.Equal(code, ErrorClass.CodeOf(error));

    [Fact]
    public void StatusText_WithPriceAndErrors_ShowsEfficiencyCostAndTopClasses()
    {
        var status = Status(JobState.Running, 2_000, 900, 100, 20, new SiloShare { Silo = "a", Labeled = 900, Errors = 100, Cores = 2, CpuSeconds = 60, AccountedImages = 1000 }) with
        {
            ErrorClasses =
            [
                new ErrorClass { Code = "corrupt-image", Count = 60, Examples = ["x/1.jpg"] },
                new ErrorClass { Code = "not-found", Count = 30, Examples = ["x/2.jpg"] },
                new ErrorClass { Code = "too-large", Count = 8, Examples = ["x/3.jpg"] },
                new ErrorClass { Code = "empty-file", Count = 2, Examples = ["x/4.jpg"] },
            ],
        };

        var text = JobCostFormatter.ToText(status, 0.5m);
        var line = JobCostFormatter.WatchSuffix(status, 0.5m);

        Assert.Contains("efficiency 60.0 CPU-s per 1,000 images, 10.00 images/s per core (1 node(s), 2 cores)", text, StringComparison.Ordinal);
        Assert.Contains("cost       0.0069 per 1,000 images, 0.0069 for the rest of the job (at 0.5 per node-hour)", text, StringComparison.Ordinal);
        Assert.Contains("errors     corrupt-image 60 (e.g. x/1.jpg)", text, StringComparison.Ordinal);
        Assert.Contains("           too-large 8 (e.g. x/3.jpg)", text, StringComparison.Ordinal);
        Assert.Contains("+1 more class(es), 2 images", text, StringComparison.Ordinal);
        Assert.DoesNotContain("empty-file", line, StringComparison.Ordinal);
        Assert.Contains("| errors corrupt-image 60 (e.g. x/1.jpg), not-found 30 (e.g. x/2.jpg), too-large 8 (e.g. x/3.jpg)", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Estimate_LinearRunWithStartup_ScalesToImagesAndNodes()
    {
        // 3 s start-up, then 20 images/s on 2 nodes.
        var samples = Enumerable.Range(0, 40).Select(i => (Seconds: i * 0.25, Processed: (long)Math.Max(0, (i * 0.25 - 3) * 20))).ToList();
        var run = new CalibrationRun(samples, Nodes: 2, Cores: 4, CpuSecondsPer1000Images: 50);

        var same = CalibrationEstimator.Estimate(run, 2_000, null, null);
        var doubled = CalibrationEstimator.Estimate(run, 2_000, 4, 1m);

        Assert.Equal(3, same.StartupSeconds, 1);
        Assert.Equal(10, same.ImagesPerSecondPerNode, 1);
        Assert.Equal(3 + 100, same.ExpectedSeconds, 0);
        Assert.Equal(3 + 50, doubled.ExpectedSeconds, 0);
        Assert.Equal(4 * 53.0 / 3600, (double)doubled.ExpectedCost!.Value, 2);
        Assert.Throws<InvalidOperationException>(() => CalibrationEstimator.Estimate(new CalibrationRun([(0, 0), (5, 0)], 1, 1, null), 10, null, null));
    }
}
