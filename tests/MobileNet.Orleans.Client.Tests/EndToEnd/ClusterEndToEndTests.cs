using System.Globalization;
using System.Text.Json;
using Xunit.Abstractions;

namespace MobileNet.Orleans.Client.Tests.EndToEnd;

/// <summary>
/// Real silo processes against Azurite, driven through the CLI in-process: models upload, upload, submit --wait,
/// status --json, results. With MOBILENET_FIXTURES: the 200 photos and the Model Zoo model (accuracy checked);
/// without: generated images and a generated model.
/// </summary>
[Trait("Category", "E2E"), Collection(EndToEndCollection.Name)]
public sealed class ClusterEndToEndTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task SubmitWait_Photos_ResultsHoldEveryImageOnceWithLocalClassifyTop1()
    {
        var storage = TestStorage.RequireConnectionString();
        using var temp = new TempDirectory();
        var fixtures = TestFixtures.Root;
        string model;
        string photos;
        Dictionary<string, int>? truth = null;
        if (fixtures is not null)
        {
            model = Path.Combine(fixtures, "models", "mobilenetv2-12-int8.onnx");
            photos = Path.Combine(fixtures, "photos", "imagenet-sample-200");
            truth = TestFixtures.SampleLabels().ToDictionary(p => "photos/" + p.Key, p => p.Value, StringComparer.Ordinal);
        }
        else
        {
            output.WriteLine("MOBILENET_FIXTURES not set: generated model and 40 generated images (no accuracy check)");
            model = GeneratedModels.WriteV2(temp.Path);
            photos = Path.Combine(temp.Path, "photos");
            for (var i = 0; i < 40; i++)
            {
                temp.File(Path.Combine("photos", $"gen-{i:D3}.jpg"), TestImages.BlocksJpeg(i));
            }
        }

        var files = Directory.GetFiles(photos).Where(f => UploadCommandImage(f)).Select(f => ("photos/" + Path.GetFileName(f), f)).ToList();
        await using var cluster = new SiloProcessCluster(storage);
        await cluster.StartSilosAsync(2);
        var modelName = "e2e-" + Guid.NewGuid().ToString("N")[..8];
        var container = TestStorage.UniqueContainer("e2e");

        await RunOkAsync(["models", "upload", modelName, "--file", model, .. cluster.StorageArgs]);
        await RunOkAsync(["upload", photos, "--to", container + "/photos", .. cluster.StorageArgs]);
        var submit = await RunOkAsync(["submit", "--source", container + "/photos", "--model", modelName, "--shard-size", "16", "--wait", .. cluster.ClientArgs]);
        var jobId = submit.Stdout.TrimEnd().Split('\n')[^1];
        var status = await RunOkAsync(["status", jobId, "--json", .. cluster.ClientArgs]);
        var resultsFile = Path.Combine(temp.Path, "results.csv");
        await RunOkAsync(["results", jobId, "--format", "csv", "-o", resultsFile, .. cluster.ClientArgs]);

        using (var json = JsonDocument.Parse(status.Stdout))
        {
            var root = json.RootElement;
            Assert.Equal("Completed", root.GetProperty("state").GetString());
            Assert.Equal(files.Count, root.GetProperty("totalImages").GetInt64());
            Assert.Equal(files.Count, root.GetProperty("labeled").GetInt64() + root.GetProperty("errors").GetInt64());
            Assert.Equal(root.GetProperty("shardsTotal").GetInt32(), root.GetProperty("shardsDone").GetInt32());
            Assert.Equal(files.Count, root.GetProperty("silos").EnumerateArray().Sum(s => s.GetProperty("labeled").GetInt64() + s.GetProperty("errors").GetInt64()));
        }

        var rows = ResultsCsv.Read(resultsFile);
        Assert.Equal(files.Select(f => f.Item1).Order(StringComparer.Ordinal), rows.Select(r => r.Image));
        // The same files through the single-process `mobilenet classify`: identical top-1 for every image.
        var classifyFile = Path.Combine(temp.Path, "classify.csv");
        await RunOkAsync(["classify", photos, "--model", model, "--top-k", "5", "--format", "csv", "-o", classifyFile]);
        var local = ResultsCsv.Read(classifyFile).ToDictionary(r => Path.GetFileName(r.Image), r => r.Top1, StringComparer.Ordinal);
        Assert.Equal(rows.Count, local.Count);
        var differing = rows.Where(r => local[Path.GetFileName(r.Image)] != r.Top1).Select(r => $"{r.Image}: cluster {r.Top1}, classify {local[Path.GetFileName(r.Image)]}").ToList();
        output.WriteLine($"{rows.Count} rows, {rows.Count(r => r.Error is not null)} error rows, {differing.Count} top-1 differences from mobilenet classify");
        Assert.Empty(differing);
        if (truth is not null)
        {
            var correct = rows.Count(r => truth[r.Image] == r.Top1);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"top-1 accuracy on the fixture photos: {correct}/{rows.Count} = {100.0 * correct / rows.Count:0.0}%"));
            Assert.True(correct >= 0.74 * rows.Count, $"top-1 {correct}/{rows.Count} is under 74%");
        }

        // A job id the cluster never saw: exit 2, one line.
        var unknown = await Cli.RunAsync(["status", "job-20000101-000000-000000", .. cluster.ClientArgs]);
        Assert.Equal(ExitCodes.BadInput, unknown.ExitCode);
        Assert.Contains("unknown job", unknown.Stderr, StringComparison.Ordinal);
    }

    private static bool UploadCommandImage(string path) => Commands.UploadCommand.ImageExtensions.Contains(Path.GetExtension(path));

    private async Task<(string Stdout, string Stderr)> RunOkAsync(string[] args)
    {
        var (code, stdout, stderr) = await Cli.RunAsync(args);
        output.WriteLine($"$ mobilenet {args[0]} ... -> {code}\n{stderr.TrimEnd()}");
        Assert.True(code == ExitCodes.Success, $"mobilenet {string.Join(' ', args.TakeWhile(a => a != "--storage"))} exited {code}: {stderr}");
        return (stdout, stderr);
    }
}
