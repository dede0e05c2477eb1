using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MobileNet.Inference;
using MobileNet.Modeling.Architectures;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Models;
using MobileNet.Orleans.Contracts.Security;
using MobileNet.Orleans.Contracts.Storage;
using MobileNet.Orleans.Security.Certificates;
using MobileNet.Orleans.Security.Hosting;
using Orleans.Configuration;

namespace MobileNet.Orleans.Silo.Tests;

/// <summary>Models, images and jobs for the silo process tests, written straight to the test storage.</summary>
internal static partial class SiloTestData
{
    /// <summary>Uploads a generated MobileNet (seeded weights) under <paramref name="name"/>, manifest last, as <c>models upload</c> does.</summary>
    public static async Task UploadModelAsync(BlobServiceClient blobs, string name, MobileNetSpec spec)
    {
        var bytes = GeneratedModels.Bytes(spec);
        var models = blobs.GetBlobContainerClient(ModelStoreLayout.Container);
        await models.CreateIfNotExistsAsync();
        await models.GetBlobClient(ModelStoreLayout.ModelBlob(name)).UploadAsync(BinaryData.FromBytes(bytes), overwrite: true);
        var manifest = new ModelManifest { Name = name, Sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)), SizeBytes = bytes.Length, UploadedAt = DateTimeOffset.UtcNow };
        await models.GetBlobClient(ModelStoreLayout.ManifestBlob(name)).UploadAsync(BinaryData.FromString(ModelManifestJson.Serialize(manifest)), overwrite: true);
    }

    /// <summary>Uploads <paramref name="count"/> small generated PNGs; returns their blob names.</summary>
    public static async Task<IReadOnlyList<string>> UploadImagesAsync(BlobContainerClient container, string prefix, int count)
    {
        await container.CreateIfNotExistsAsync();
        var pictures = Enumerable.Range(0, 4).Select(seed => TestImages.NoisePng(seed)).ToArray();
        var names = Enumerable.Range(0, count).Select(i => $"{prefix}img-{i:D4}.png").ToArray();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
            await container.GetBlobClient(names[i]).UploadAsync(BinaryData.FromBytes(pictures[i % pictures.Length]), overwrite: true, ct));
        return names;
    }

    /// <summary>The image names of every result row of the job, one entry per row (duplicates stay visible).</summary>
    public static async Task<IReadOnlyList<string>> ReadResultImagesAsync(BlobServiceClient blobs, JobSpec spec, string jobId)
    {
        var folder = JobOutputLayout.ResultsFolder(spec.Output, jobId);
        var container = blobs.GetBlobContainerClient(folder.Container);
        var images = new List<string>();
        await foreach (var blob in container.GetBlobsAsync(new GetBlobsOptions { Prefix = folder.Prefix }))
        {
            var content = await container.GetBlobClient(blob.Name).DownloadContentAsync();
            foreach (var line in content.Value.Content.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                images.Add(LabelingRecordFormat.ParseJsonLine(line).Image);
            }
        }

        return images;
    }

    /// <summary>An Orleans client of the test cluster, finding gateways in the membership table as in-cluster clients do.</summary>
    public static async Task<IHost> StartClientAsync(string storage, string clusterId)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = clusterId;
                o.ServiceId = clusterId;
            });
            client.UseAzureStorageClustering(o => o.TableServiceClient = new TableServiceClient(storage));
            // The silos run mutual TLS; the identity lives as long as the test process.
            client.UseMobileNetSecurity(TlsIdentity.Load(TestCertificates.Shared.Client(CallerRole.Admin)));
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    public static async Task<JobStatus> WaitForEndAsync(IJobCoordinatorGrain job, TimeSpan timeout, Func<Task>? onPoll = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            if (onPoll is not null)
            {
                await onPoll();
            }

            var status = await job.GetStatusAsync();
            if (status.IsTerminal)
            {
                return status;
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"job {status.JobId} still {status.State} after {timeout}: {status.Labeled} labeled, shards {status.ShardsDone}/{status.ShardsTotal}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>The value of a Prometheus sample <paramref name="metric"/> labelled <c>job="<paramref name="jobId"/>"</c>, or null.</summary>
    public static double? Sample(string scrape, string metric, string? jobId = null)
    {
        foreach (var line in scrape.Split('\n'))
        {
            var match = SampleLine().Match(line);
            if (!match.Success || match.Groups["name"].Value != metric)
            {
                continue;
            }

            if (jobId is null || match.Groups["labels"].Value.Contains($"job=\"{jobId}\"", StringComparison.Ordinal))
            {
                return double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)")]
    private static partial Regex SampleLine();
}
