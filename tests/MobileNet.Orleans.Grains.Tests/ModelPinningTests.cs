using System.Text.Json;
using Azure.Storage.Blobs;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Storage;
using Orleans.TestingHost;

namespace MobileNet.Orleans.Grains.Tests;

/// <summary>Model versions pinned per job, models sharing an ONNX file, and model descriptions that try to leave their folder.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ModelPinningTests(ClusterFixture fixture)
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(90);

    [SkippableFact]
    public async Task Jobs_TwoModelNamesShareOneOnnxWithOtherLabels_EachJobLabeledWithItsOwn()
    {
        var (cluster, blobs) = Require();
        var source = JobTestData.UniqueContainer("src");
        var names = await JobTestData.UploadAsync(blobs.GetBlobContainerClient(source), "", good: 48);
        var (alpha, beta) = ("t-alpha-" + Guid.NewGuid().ToString("N")[..8], "t-beta-" + Guid.NewGuid().ToString("N")[..8]);
        var alphaManifest = await ModelStoreTestData.UploadAsync(blobs, alpha, ModelStoreTestData.TinyOnnx.Value, ModelStoreTestData.Labels("alpha-"), null);
        await ModelStoreTestData.UploadAsync(blobs, beta, ModelStoreTestData.TinyOnnx.Value, ModelStoreTestData.Labels("beta-"), null);
        var specs = new[] { alpha, beta }.Select(m => JobTestData.Spec(source, "", JobTestData.UniqueContainer("out"), model: m, shardSize: 4)).ToArray();
        var ids = new[] { JobTestData.NewJobId("alpha"), JobTestData.NewJobId("beta") };
        var jobs = ids.Select(id => cluster.GrainFactory.GetGrain<IJobCoordinatorGrain>(id)).ToArray();

        // Side by side on the same silos, the same ONNX file.
        await Task.WhenAll(jobs.Select((job, i) => job.SubmitAsync(specs[i])));
        var ended = await Task.WhenAll(jobs.Select(job => JobTestData.WaitForEndAsync(job, JobTimeout)));

        foreach (var (status, prefix, i) in new[] { (ended[0], "alpha-", 0), (ended[1], "beta-", 1) })
        {
            Assert.Equal(JobState.Completed, status.State);
            Assert.Equal(alphaManifest.Sha256, status.Model!.Sha256);
            using (var json = JsonDocument.Parse(await JobTestData.ReadSummaryAsync(blobs, specs[i], ids[i])))
            {
                // summary.json names the model version the job used.
                Assert.Equal(alphaManifest.Sha256, json.RootElement.GetProperty("model").GetProperty("sha256").GetString());
                Assert.Equal(10, json.RootElement.GetProperty("model").GetProperty("classCount").GetInt32());
            }

            var records = await JobTestData.ReadResultsAsync(blobs, specs[i], ids[i]);
            Assert.Equal(names.Order(StringComparer.Ordinal), records.Select(r => r.Image).Order(StringComparer.Ordinal));
            Assert.All(records, r =>
            {
                Assert.Equal(3, r.Labels.Count);
                Assert.All(r.Labels, l => Assert.Equal($"{prefix}{l.Index}", l.Label));
                Assert.Equal(alphaManifest.Sha256, r.Model);
            });
        }
    }

    [SkippableFact]
    public async Task Job_ModelReuploadedWithOtherLabelsMidJob_KeepsThePinnedLabels()
    {
        var (cluster, blobs) = Require();
        var source = JobTestData.UniqueContainer("src");
        var names = await JobTestData.UploadAsync(blobs.GetBlobContainerClient(source), "", good: 240);
        var model = "t-reup-" + Guid.NewGuid().ToString("N")[..8];
        var first = await ModelStoreTestData.UploadAsync(blobs, model, ModelStoreTestData.TinyOnnx.Value, ModelStoreTestData.Labels("first-"), null);
        var spec = JobTestData.Spec(source, "", JobTestData.UniqueContainer("out"), model: model, shardSize: 2);
        var jobId = JobTestData.NewJobId("reup");
        var job = cluster.GrainFactory.GetGrain<IJobCoordinatorGrain>(jobId);

        await job.SubmitAsync(spec);
        await JobTestData.WaitUntilAsync(async () => (await job.GetStatusAsync()).ShardsDone > 0, JobTimeout, "the first shards are done");
        var second = await ModelStoreTestData.UploadAsync(blobs, model, ModelStoreTestData.TinyOnnx.Value, ModelStoreTestData.Labels("second-"), null);
        var atReupload = await job.GetStatusAsync();
        var status = await JobTestData.WaitForEndAsync(job, JobTimeout);

        // The re-upload really came mid-job: shards were still to do when the new version was in the store.
        Assert.False(atReupload.IsTerminal, "the job ended before the model was re-uploaded");
        Assert.True(atReupload.ShardsDone < 120, $"{atReupload.ShardsDone} of 120 shards were done at the re-upload");
        Assert.Equal(JobState.Completed, status.State);
        Assert.Equal((first.Sha256, first.LabelsSha256), (status.Model!.Sha256, status.Model.LabelsSha256));
        var records = await JobTestData.ReadResultsAsync(blobs, spec, jobId);
        Assert.Equal(names.Count, records.Count);
        Assert.All(records, r => Assert.All(r.Labels, l => Assert.StartsWith("first-", l.Label, StringComparison.Ordinal)));

        // A job submitted now uses the new version.
        var nextId = JobTestData.NewJobId("reup2");
        var nextSpec = spec with { Output = new BlobPath { Container = JobTestData.UniqueContainer("out") } };
        var next = cluster.GrainFactory.GetGrain<IJobCoordinatorGrain>(nextId);
        await next.SubmitAsync(nextSpec with { Source = nextSpec.Source with { Prefix = "img-000" } });
        var nextStatus = await JobTestData.WaitForEndAsync(next, JobTimeout);
        Assert.Equal(second.LabelsSha256, nextStatus.Model!.LabelsSha256);
        Assert.All(await JobTestData.ReadResultsAsync(blobs, nextSpec, nextId), r => Assert.All(r.Labels, l => Assert.StartsWith("second-", l.Label, StringComparison.Ordinal)));
    }

    [SkippableTheory]
    [InlineData("absolute", "is an absolute path")]
    [InlineData("parent", "leaves the model's folder")]
    public async Task Shard_DescriptionNamesLabelsOutsideModelFolder_FailsWithReasonAndNoByteOfTheFileAppears(string how, string reason)
    {
        var (cluster, blobs) = Require();
        // A one-line file outside the model's folder (an absolute path, or the cache folder above the model's own):
        // were it read, its line would be the label of every row.
        const string Secret = "SECRET-LINE-5d1e";
        var outside = how == "absolute"
            ? Path.Combine(Path.GetTempPath(), $"mobilenet-secret-{Guid.NewGuid():N}.txt")
            : Path.Combine(TestSiloConfigurator.CacheDirectory!, "secret.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(outside)!);
        await File.WriteAllTextAsync(outside, Secret + "\n");
        var named = how == "absolute" ? outside : "../secret.txt";
        var model = "t-outside-" + Guid.NewGuid().ToString("N")[..8];
        // Written straight to the store, as a hostile uploader would (models upload refuses it).
        await ModelStoreTestData.UploadAsync(blobs, model, ModelStoreTestData.TinyOnnx.Value, labels: null, JsonSerializer.Serialize(new { labels = named }), classCount: null);
        var source = JobTestData.UniqueContainer("src");
        var names = await JobTestData.UploadAsync(blobs.GetBlobContainerClient(source), "", good: 6);
        var spec = JobTestData.Spec(source, "", JobTestData.UniqueContainer("out"), model: model, shardSize: 3) with { MaxShardAttempts = 1 };
        var jobId = JobTestData.NewJobId("outside");
        var job = cluster.GrainFactory.GetGrain<IJobCoordinatorGrain>(jobId);

        try
        {
            await job.SubmitAsync(spec);
            var status = await JobTestData.WaitForEndAsync(job, JobTimeout);

            Assert.Equal(0, status.Labeled);
            Assert.Equal(2, status.ShardsFailed);
            Assert.All(status.FailedShards, f => Assert.Contains(reason, f.Reason, StringComparison.Ordinal));
            Assert.All(status.FailedShards, f => Assert.Contains("model-load-failed", f.Reason, StringComparison.Ordinal));
            var records = await JobTestData.ReadResultsAsync(blobs, spec, jobId);
            Assert.Equal(names.Order(StringComparer.Ordinal), records.Select(r => r.Image).Order(StringComparer.Ordinal));
            Assert.All(records, r => Assert.Empty(r.Labels));
            var everything = string.Join('\n', records.Select(r => r.Error))
                + JsonSerializer.Serialize(status)
                + await JobTestData.ReadSummaryAsync(blobs, spec, jobId);
            Assert.DoesNotContain(Secret, everything, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(outside);
        }
    }

    [SkippableFact]
    public async Task SubmitAsync_TopKAboveClassCount_RefusedNamingTheCount()
    {
        var (cluster, blobs) = Require();
        var source = JobTestData.UniqueContainer("src");
        await JobTestData.UploadAsync(blobs.GetBlobContainerClient(source), "", good: 1);
        var model = "t-topk-" + Guid.NewGuid().ToString("N")[..8];
        await ModelStoreTestData.UploadAsync(blobs, model, ModelStoreTestData.TinyOnnx.Value, ModelStoreTestData.Labels("c"), null);
        var spec = JobTestData.Spec(source, "", JobTestData.UniqueContainer("out"), model: model) with { TopK = 11 };

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => cluster.GrainFactory.GetGrain<IJobCoordinatorGrain>(JobTestData.NewJobId("topk")).SubmitAsync(spec));

        Assert.Contains("top-k 11 is more than model", refused.Message, StringComparison.Ordinal);
        Assert.Contains("(10)", refused.Message, StringComparison.Ordinal);
    }

    private (TestCluster Cluster, BlobServiceClient Blobs) Require()
    {
        Skip.If(fixture.SkipReason is not null, fixture.SkipReason);
        return (fixture.Cluster!, fixture.Blobs!);
    }
}
