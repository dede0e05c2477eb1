using Azure.Storage.Blobs;
using Microsoft.Extensions.Options;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Storage;
using MobileNet.Orleans.Grains.Storage;
using Orleans.TestingHost;

namespace MobileNet.Orleans.Grains.Tests;

/// <summary>The storage scope: which containers and prefixes jobs may read and write, and the service's own never.</summary>
[Collection(ClusterCollection.Name)]
public sealed class StorageScopeTests(ClusterFixture fixture)
{
    private static readonly StorageScope Scope = new(Options.Create(new StorageScopeOptions
    {
        Read = ["photos/team-a", "shared-*"],
        Write = ["results", "shared-out/team-a"],
        ServiceContainers = ["mobilenet-job-state"],
    }));

    [Theory]
    [InlineData("photos", "team-a/", null, "results", "")]
    [InlineData("photos", "team-a/2026/", null, "results", "x/y")]
    [InlineData("shared-images", "", null, "shared-out", "team-a")]
    [InlineData("shared-images", "", null, "shared-out", "team-a/deeper/")]
    [InlineData("photos", "", "team-a/list.txt", "results", "")]
    public void Check_InsideScope_Accepted(string source, string prefix, string? manifest, string output, string outputPrefix)
    {
        Scope.Check(Spec(source, prefix, output, outputPrefix) with { ManifestBlob = manifest });
    }

    [Theory]
    [InlineData("photos", "", null, "results", "", "source 'photos' is outside the storage scope jobs may read")]
    [InlineData("photos", "team-ab/", null, "results", "", "is outside the storage scope jobs may read")]
    [InlineData("photos", "team-a", null, "results", "", "is outside the storage scope jobs may read")]
    [InlineData("other", "", null, "results", "", "is outside the storage scope jobs may read")]
    [InlineData("photos", "", "list.txt", "results", "", "manifest 'photos/list.txt' is outside")]
    [InlineData("photos", "team-a/", null, "photos", "team-a", "output 'photos/team-a' is outside the storage scope jobs may write")]
    [InlineData("photos", "team-a/", null, "shared-out", "team-b", "is outside the storage scope jobs may write")]
    [InlineData("mobilenet-models", "", null, "results", "", "source container 'mobilenet-models' belongs to the service itself")]
    [InlineData("photos", "team-a/", null, "mobilenet-job-state", "", "output container 'mobilenet-job-state' belongs to the service itself")]
    public void Check_OutsideScopeOrServiceContainer_RefusedWithReason(string source, string prefix, string? manifest, string output, string outputPrefix, string reason)
    {
        var refused = Assert.Throws<ArgumentException>(() => Scope.Check(Spec(source, prefix, output, outputPrefix) with { ManifestBlob = manifest }));

        Assert.Contains(reason, refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refused.Message);
    }

    [Theory]
    [InlineData("photos", "team-a/x.jpg", true)]
    [InlineData("photos", "team-b/x.jpg", false)]
    [InlineData("photos", "team-a", false)]
    [InlineData("shared-x", "anything", true)]
    [InlineData("mobilenet-job-state", "x", false)]
    public void CanRead_ManifestEntry_OnlyInsideTheReadScope(string container, string name, bool allowed)
    {
        Assert.Equal(allowed, Scope.CanRead(container, name));
    }

    [Theory]
    [InlineData("mobilenet-*", "covers the service container 'mobilenet-")]
    [InlineData("mobilenet-job-state/x", "covers the service container 'mobilenet-job-state'")]
    [InlineData("Bad_Name", "container name")]
    [InlineData("a*", "container pattern")]
    [InlineData("photos/../x", "prefix")]
    public void Validator_BadEntry_FailsStart(string entry, string reason)
    {
        var result = new StorageScopeOptionsValidator().Validate(null, new StorageScopeOptions { Read = [entry], Write = ["results"], ServiceContainers = ["mobilenet-job-state"] });

        Assert.True(result.Failed);
        Assert.Contains(reason, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validator_NothingAllowed_FailsStart()
    {
        var result = new StorageScopeOptionsValidator().Validate(null, new StorageScopeOptions());

        Assert.True(result.Failed);
        Assert.Contains("StorageScope:Read must name at least one container", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("StorageScope:Write must name at least one container", result.FailureMessage, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task SubmitAsync_ContainerOutsideScope_SameRefusalWhetherItExistsOrNot()
    {
        var (cluster, blobs) = Require();
        // The test cluster allows t-* only.
        var existing = "x-" + Guid.NewGuid().ToString("N")[..12];
        await JobTestData.UploadAsync(blobs.GetBlobContainerClient(existing), "", good: 2);
        var missing = "x-" + Guid.NewGuid().ToString("N")[..12];
        var output = JobTestData.UniqueContainer("out");

        var refusedExisting = await SubmitRefusedAsync(cluster, JobTestData.Spec(existing, "", output));
        var refusedMissing = await SubmitRefusedAsync(cluster, JobTestData.Spec(missing, "", output));
        var refusedService = await SubmitRefusedAsync(cluster, JobTestData.Spec(JobTestData.UniqueContainer("src"), "", "mobilenet-models"));
        var refusedOutput = await SubmitRefusedAsync(cluster, JobTestData.Spec(JobTestData.UniqueContainer("src"), "", existing));

        Assert.Contains("is outside the storage scope jobs may read (allowed: t-*)", refusedExisting, StringComparison.Ordinal);
        Assert.Equal(refusedExisting.Replace(existing, "C", StringComparison.Ordinal), refusedMissing.Replace(missing, "C", StringComparison.Ordinal));
        Assert.Contains("output container 'mobilenet-models' belongs to the service itself", refusedService, StringComparison.Ordinal);
        Assert.Contains("is outside the storage scope jobs may write", refusedOutput, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Listing_ManifestNamesImageOutsideScopeOrOverlongLine_JobFailsWithReason()
    {
        var (cluster, blobs) = Require();
        var source = blobs.GetBlobContainerClient(JobTestData.UniqueContainer("src"));
        await JobTestData.UploadAsync(source, "", good: 3);
        await source.GetBlobClient("long.txt").UploadAsync(BinaryData.FromString("img-0000.png\n" + new string('a', JobDefaults.MaxManifestLineLength + 1) + "\nimg-0001.png\n"));

        var job = cluster.GrainFactory.GetGrain<IJobCoordinatorGrain>(JobTestData.NewJobId("longline"));
        await job.SubmitAsync(JobTestData.Spec(source.Name, "", JobTestData.UniqueContainer("out")) with { ManifestBlob = "long.txt" });
        var status = await JobTestData.WaitForEndAsync(job, TimeSpan.FromSeconds(60));

        Assert.Equal(JobState.Failed, status.State);
        Assert.Contains("line 2 is longer than 1024 characters", status.FailureReason, StringComparison.Ordinal);
    }

    private static async Task<string> SubmitRefusedAsync(TestCluster cluster, JobSpec spec)
    {
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => cluster.GrainFactory.GetGrain<IJobCoordinatorGrain>(JobTestData.NewJobId("scope")).SubmitAsync(spec));
        return refused.Message;
    }

    private static JobSpec Spec(string source, string prefix, string output, string outputPrefix) => new()
    {
        Source = new BlobPath { Container = source, Prefix = prefix },
        ModelName = "m",
        Output = new BlobPath { Container = output, Prefix = outputPrefix },
    };

    private (TestCluster Cluster, BlobServiceClient Blobs) Require()
    {
        Skip.If(fixture.SkipReason is not null, fixture.SkipReason);
        return (fixture.Cluster!, fixture.Blobs!);
    }
}
