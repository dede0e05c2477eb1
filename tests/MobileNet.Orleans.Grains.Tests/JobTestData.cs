using System.Diagnostics;
using Azure.Storage.Blobs;
using MobileNet.Inference;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Storage;

namespace MobileNet.Orleans.Grains.Tests;

/// <summary>Generated datasets in blob storage, job specs, and reading a job's results back.</summary>
internal static class JobTestData
{
    private static readonly Lazy<byte[][]> Pictures = new(() => Enumerable.Range(0, 6).Select(seed => TestImages.NoisePng(seed, 40, 32)).ToArray());

    /// <summary>Broken "images": each must become an error row, never a failed shard.</summary>
    public static IReadOnlyList<(string Suffix, byte[] Content)> BrokenImages { get; } =
    [
        ("text.jpg", "this is not a JPEG"u8.ToArray()),
        ("empty.png", []),
        ("truncated.png", Pictures.Value[0][..40]),
    ];

    public static string UniqueContainer(string purpose) => Unique(purpose, 40);

    public static string NewJobId(string purpose) => Unique(purpose, 30);

    private static string Unique(string purpose, int length)
    {
        var name = $"t-{purpose}-{Guid.NewGuid():N}";
        return name[..Math.Min(length, name.Length)];
    }

    /// <summary>Uploads <paramref name="good"/> small PNGs and <paramref name="broken"/> broken files; returns every blob name.</summary>
    public static async Task<IReadOnlyList<string>> UploadAsync(BlobContainerClient container, string prefix, int good, int broken = 0)
    {
        await container.CreateIfNotExistsAsync();
        var items = new List<(string Name, byte[] Content)>();
        for (var i = 0; i < good; i++)
        {
            // Spaces and non-ASCII in names: names are data, they must come back unchanged.
            var name = i % 10 == 3 ? $"{prefix}photo {i:D4} été.png" : $"{prefix}img-{i:D4}.png";
            items.Add((name, Pictures.Value[i % Pictures.Value.Length]));
        }

        for (var i = 0; i < broken; i++)
        {
            var (suffix, content) = BrokenImages[i % BrokenImages.Count];
            // Sorted among the good ones, so broken images are spread over the shards.
            var position = (i + 1) * good / (broken + 1);
            items.Add(($"{prefix}img-{position:D4}-bad-{i}-{suffix}", content));
        }

        await Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (item, ct) =>
            await container.GetBlobClient(item.Name).UploadAsync(BinaryData.FromBytes(item.Content), overwrite: true, ct));
        return items.Select(i => i.Name).ToArray();
    }

    public static JobSpec Spec(string container, string prefix, string output, string model = ClusterFixture.TinyModel, int shardSize = 8) => new()
    {
        Source = new BlobPath { Container = container, Prefix = prefix },
        ModelName = model,
        TopK = 3,
        ShardSize = shardSize,
        Output = new BlobPath { Container = output, Prefix = "runs" },
    };

    public static async Task<JobStatus> WaitForEndAsync(IJobCoordinatorGrain job, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var status = await job.GetStatusAsync();
            if (status.IsTerminal)
            {
                return status;
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"job {status.JobId} still {status.State} after {timeout}: {status.Labeled} labeled, {status.Errors} errors, shards {status.ShardsDone}/{status.ShardsTotal} done, {status.ShardsRunning} running");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>The job's summary.json, waiting for it: the coordinator writes it just after the job turns terminal.</summary>
    public static async Task<string> ReadSummaryAsync(BlobServiceClient blobs, JobSpec spec, string jobId)
    {
        var summary = JobOutputLayout.Summary(spec.Output, jobId);
        var blob = blobs.GetBlobContainerClient(summary.Container).GetBlobClient(summary.Prefix);
        await WaitUntilAsync(async () => (await blob.ExistsAsync()).Value, TimeSpan.FromSeconds(60), "summary.json written");
        return (await blob.DownloadContentAsync()).Value.Content.ToString();
    }

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"timed out after {timeout} waiting until {what}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Every record of every shard result blob of the job.</summary>
    public static async Task<IReadOnlyList<LabelingRecord>> ReadResultsAsync(BlobServiceClient blobs, JobSpec spec, string jobId)
    {
        var folder = JobOutputLayout.ResultsFolder(spec.Output, jobId);
        var container = blobs.GetBlobContainerClient(folder.Container);
        var records = new List<LabelingRecord>();
        await foreach (var blob in container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = folder.Prefix }))
        {
            var content = await container.GetBlobClient(blob.Name).DownloadContentAsync();
            foreach (var line in content.Value.Content.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                records.Add(LabelingRecordFormat.ParseJsonLine(line));
            }
        }

        return records;
    }
}
