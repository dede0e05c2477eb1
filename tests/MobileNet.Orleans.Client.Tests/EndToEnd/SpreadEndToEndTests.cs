using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Azure.Storage.Blobs;
using MobileNet.Orleans.Client.Cluster;
using MobileNet.Orleans.Client.Jobs;
using MobileNet.Orleans.Client.Storage;
using Xunit.Abstractions;

namespace MobileNet.Orleans.Client.Tests.EndToEnd;

/// <summary>
/// Issue 3 acceptance 2 on real silo processes: 2,000 generated images on 2 silos, each silo labels 35-65%; then a
/// silo started while a job runs labels images (the seconds it took are printed, for docs/BENCHMARKS.md).
/// </summary>
[Trait("Category", "E2E"), Collection(EndToEndCollection.Name)]
public sealed class SpreadEndToEndTests(ITestOutputHelper output)
{
    private const int Images = 2000;

    [SkippableFact]
    public async Task TwoThousandImages_TwoSilos_EachLabels35To65PercentAndAnAddedSiloTakesWork()
    {
        var storage = TestStorage.RequireConnectionString();
        using var temp = new TempDirectory();
        var model = GeneratedModels.WriteV2(temp.Path);
        await using var cluster = new SiloProcessCluster(storage);
        var startSilos = cluster.StartSilosAsync(2);
        var modelName = "spread-" + Guid.NewGuid().ToString("N")[..8];
        var container = TestStorage.UniqueContainer("spread");
        await RunOkAsync(["models", "upload", modelName, "--file", model, .. cluster.StorageArgs]);
        await UploadGeneratedImagesAsync(TestStorage.CreateService(), container);
        await startSilos;

        // Job 1: two silos share the work.
        var job1 = (await RunOkAsync(["submit", "--source", container + "/img", "--model", modelName, "--shard-size", "20", "--wait", .. cluster.ClientArgs])).Stdout.TrimEnd().Split('\n')[^1];
        var status1 = (await RunOkAsync(["status", job1, "--json", .. cluster.ClientArgs])).Stdout;
        using (var json = JsonDocument.Parse(status1))
        {
            Assert.Equal("Completed", json.RootElement.GetProperty("state").GetString());
            var shares = json.RootElement.GetProperty("silos").EnumerateArray()
                .Select(s => (Silo: s.GetProperty("silo").GetString()!, Images: s.GetProperty("labeled").GetInt64() + s.GetProperty("errors").GetInt64())).ToList();
            output.WriteLine("job 1 shares: " + string.Join(", ", shares.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Silo} {s.Images} ({100.0 * s.Images / Images:0.0}%)"))));
            Assert.Equal(2, shares.Count);
            Assert.Equal(Images, shares.Sum(s => s.Images));
            Assert.All(shares, s => Assert.InRange(s.Images, (long)(0.35 * Images), (long)(0.65 * Images)));
        }

        // Job 2 (the same images, named in a manifest blob): a third silo joins while it runs and gets work. It uses a
        // full-width model (about 5x the work per image) so that it lasts well beyond the seconds a silo takes to start.
        var heavyModel = "spread-heavy-" + Guid.NewGuid().ToString("N")[..8];
        await RunOkAsync(["models", "upload", heavyModel, "--file", GeneratedModels.WriteV2(temp.Path, width: 1.0), .. cluster.StorageArgs]);
        var manifest = string.Join('\n', Enumerable.Range(0, Images).Select(ImageName));
        await TestStorage.CreateService().GetBlobContainerClient(container).GetBlobClient("job2.txt").UploadAsync(BinaryData.FromString(manifest));
        var job2 = (await RunOkAsync(["submit", "--source", container, "--manifest", "job2.txt", "--model", heavyModel, "--shard-size", "10", .. cluster.ClientArgs])).Stdout.TrimEnd().Split('\n')[^1];
        var added = await cluster.StartSiloAsync();
        var joined = Stopwatch.StartNew();
        TimeSpan? firstWork = null;
        await using (var connection = await ClusterConnection.ConnectAsync(new ClusterSettings { Storage = StorageConnection.Resolve(storage), ClusterId = cluster.ClusterId, ServiceId = cluster.ServiceId, TlsDirectory = TestCertificates.Shared.Client(Contracts.Security.CallerRole.Admin), ConnectTimeout = TimeSpan.FromSeconds(60) }, CancellationToken.None))
        {
            while (true)
            {
                var status = await JobCalls.GetStatusAsync(connection.Client, job2);
                if (firstWork is null && status.Silos.Any(s => s.Silo == added.Name && s.Labeled + s.Errors > 0))
                {
                    firstWork = joined.Elapsed;
                }

                if (status.IsTerminal)
                {
                    output.WriteLine($"job 2 {status.State}: " + JobStatusFormatter.FormatSilos(status, 10));
                    Assert.Equal("Completed", status.State.ToString());
                    Assert.Equal(Images, status.Labeled + status.Errors);
                    break;
                }

                await Task.Delay(250);
            }
        }

        output.WriteLine(firstWork is { } t
            ? string.Create(CultureInfo.InvariantCulture, $"added silo {added.Name}: first images credited {t.TotalSeconds:0.0} s after it joined")
            : $"added silo {added.Name} got no work before job 2 ended");
        Assert.NotNull(firstWork);

        var resultsFile = Path.Combine(temp.Path, "job2.csv");
        await RunOkAsync(["results", job2, "-o", resultsFile, .. cluster.ClientArgs]);
        var rows = ResultsCsv.Read(resultsFile);
        Assert.Equal(Enumerable.Range(0, Images).Select(ImageName).Order(StringComparer.Ordinal), rows.Select(r => r.Image));
    }

    private static async Task UploadGeneratedImagesAsync(BlobServiceClient service, string containerName)
    {
        var container = service.GetBlobContainerClient(containerName);
        await container.CreateIfNotExistsAsync();
        await Parallel.ForEachAsync(Enumerable.Range(0, Images), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            await container.GetBlobClient(ImageName(i)).UploadAsync(BinaryData.FromBytes(TestImages.BlocksJpeg(i, 32)), ct));
    }

    private static string ImageName(int i) => string.Create(CultureInfo.InvariantCulture, $"img/gen-{i:D5}.jpg");

    private async Task<(string Stdout, string Stderr)> RunOkAsync(string[] args)
    {
        var (code, stdout, stderr) = await Cli.RunAsync(args);
        output.WriteLine($"$ mobilenet {args[0]} -> {code}; {stderr.Split('\n').LastOrDefault(l => l.Length > 0)}");
        Assert.True(code == ExitCodes.Success, $"mobilenet {args[0]} exited {code}: {stderr}");
        return (stdout, stderr);
    }
}
