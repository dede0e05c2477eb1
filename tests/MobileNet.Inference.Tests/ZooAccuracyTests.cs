using Xunit.Abstractions;

namespace MobileNet.Inference.Tests;

public sealed class ZooAccuracyTests(ZooAccuracyFixture fixture, ITestOutputHelper output) : IClassFixture<ZooAccuracyFixture>
{
    // Reference (shared/README.md): 75.5% top-1, 93.5% top-5 with torchvision-style preprocessing.
    private const double MinTop1 = 0.74;
    private const double MinTop5 = 0.92;

    [SkippableFact]
    public void RunAsync_ZooModelOnSamplePhotos_ReachesReferenceTop1()
    {
        var (records, expected) = Require();
        var top1 = records.Count(r => r.Labels[0].Index == expected[r.Image]) / (double)records.Count;
        output.WriteLine($"top-1: {top1:P1} of {records.Count}");
        Assert.True(top1 >= MinTop1, $"top-1 accuracy {top1:P1} is below {MinTop1:P0}");
    }

    [SkippableFact]
    public void RunAsync_ZooModelOnSamplePhotos_ReachesReferenceTop5()
    {
        var (records, expected) = Require();
        var top5 = records.Count(r => r.Labels.Any(l => l.Index == expected[r.Image])) / (double)records.Count;
        output.WriteLine($"top-5: {top5:P1} of {records.Count}");
        Assert.True(top5 >= MinTop5, $"top-5 accuracy {top5:P1} is below {MinTop5:P0}");
    }

    [SkippableFact]
    public void RunAsync_ZooModelOnSamplePhotos_OneOrderedRecordPerPhotoWithProbabilities()
    {
        var (records, expected) = Require();
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), records.Select(r => r.Image));
        Assert.All(records, r =>
        {
            Assert.Null(r.Error);
            Assert.Equal(5, r.Labels.Count);
            Assert.All(r.Labels, l => Assert.InRange(l.Score, 0f, 1f));
            // Best first; ties broken by lower class index.
            for (var i = 1; i < r.Labels.Count; i++)
            {
                Assert.True(r.Labels[i - 1].Score > r.Labels[i].Score
                    || (r.Labels[i - 1].Score == r.Labels[i].Score && r.Labels[i - 1].Index < r.Labels[i].Index));
            }
        });
    }

    private (IReadOnlyList<LabelingRecord> Records, IReadOnlyDictionary<string, int> Expected) Require()
    {
        TestFixtures.RequireRoot();
        return (fixture.Records!, fixture.Expected!);
    }
}
