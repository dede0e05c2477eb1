using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Storage;

namespace MobileNet.Orleans.Grains.Tests;

/// <summary>Spec checks and blob naming: nothing a user or an image name supplies can place a blob outside the job's folder.</summary>
public sealed class JobSpecValidationTests
{
    private static readonly JobSpec Valid = new()
    {
        Source = new BlobPath { Container = "photos", Prefix = "set/" },
        ModelName = "zoo",
        Output = new BlobPath { Container = "results", Prefix = "runs" },
    };

    [Theory]
    [InlineData("a/b/c.jpg", true)]
    [InlineData("photo 1 été.jpg", true)]
    [InlineData("..hidden/x..y.jpg", true)]
    [InlineData("../escape.jpg", false)]
    [InlineData("a/../../other/x.jpg", false)]
    [InlineData("a/./b.jpg", false)]
    [InlineData("a\\..\\b.jpg", false)]
    [InlineData("line\nbreak.jpg", false)]
    [InlineData("", false)]
    public void IsSafeBlobPath_Name_AcceptsOnlySelfAddressingNames(string name, bool expected) =>
        Assert.Equal(expected, JobSpecValidation.IsSafeBlobPath(name, allowEmpty: false));

    [Fact]
    public void Validate_ValidSpec_Passes() => JobSpecValidation.Validate(Valid);

    [Theory]
    [InlineData("top-k")]
    [InlineData("shard size")]
    [InlineData("model name")]
    [InlineData("output prefix")]
    [InlineData("max shard attempts")]
    [InlineData("container name")]
    public void Validate_BadField_ThrowsSayingWhichField(string field)
    {
        var spec = field switch
        {
            "top-k" => Valid with { TopK = 0 },
            "shard size" => Valid with { ShardSize = JobDefaults.MaxShardSize + 1 },
            "model name" => Valid with { ModelName = "../zoo" },
            "output prefix" => Valid with { Output = Valid.Output with { Prefix = "runs/../../elsewhere" } },
            "max shard attempts" => Valid with { MaxShardAttempts = 0 },
            _ => Valid with { Source = Valid.Source with { Container = "Bad_Container" } },
        };

        var error = Assert.Throws<ArgumentException>(() => JobSpecValidation.Validate(spec));
        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void JobOutputLayout_Blobs_DerivedOnlyFromJobIdAndShard()
    {
        var output = new BlobPath { Container = "results", Prefix = "runs/" };

        Assert.Equal("runs/job-1/shards/000042.txt", JobOutputLayout.ShardManifest(output, "job-1", 42).Prefix);
        Assert.Equal("runs/job-1/results/000042.jsonl", JobOutputLayout.ShardResult(output, "job-1", 42).Prefix);
        Assert.Equal("runs/job-1/summary.json", JobOutputLayout.Summary(output, "job-1").Prefix);
        Assert.Equal("job-1/results/", JobOutputLayout.ResultsFolder(output with { Prefix = "" }, "job-1").Prefix);
        Assert.Throws<ArgumentException>(() => JobOutputLayout.Summary(output, "../job"));
    }

    [Fact]
    public void JobId_New_IsValidAndUnique()
    {
        var now = DateTimeOffset.UtcNow;
        var a = JobId.New(now);
        var b = JobId.New(now);

        Assert.True(JobId.IsValid(a), a);
        Assert.NotEqual(a, b);
        Assert.False(JobId.IsValid("Job_1"));
        Assert.False(JobId.IsValid("a/b"));
    }
}
