using Xunit.Abstractions;

namespace MobileNet.Orleans.Client.Tests.EndToEnd;

/// <summary>
/// What the cluster refuses at submit (a real silo process; the CLI holds no scope list of its own): sources and
/// outputs outside the silos' storage scope, the service's own containers, unknown models, missing or empty sources,
/// a top-k above the model's class count. Each is exit 2 with one line, and nothing starts.
/// </summary>
[Trait("Category", "E2E"), Collection(EndToEndCollection.Name)]
public sealed class SubmitRefusalEndToEndTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Submit_OutsideScopeServiceContainerOrBadSource_ExitsTwoWithOneLine()
    {
        var storage = TestStorage.RequireConnectionString();
        using var temp = new TempDirectory();
        await using var cluster = new SiloProcessCluster(storage);
        await cluster.StartSilosAsync(1);
        var model = "t-refuse-" + Guid.NewGuid().ToString("N")[..8];
        var modelFile = temp.File("model.onnx", TinyOnnxModel.Build(16, dynamicBatch: true, nhwc: false));
        await RunAsync(0, ["models", "upload", model, "--file", modelFile, .. cluster.StorageArgs]);
        var inScope = TestStorage.UniqueContainer("refuse");
        var outOfScope = "x-" + Guid.NewGuid().ToString("N")[..12];
        temp.File("img/a.jpg", TestImages.BlocksJpeg(1));
        await RunAsync(0, ["upload", Path.Combine(temp.Path, "img"), "--to", inScope + "/set1", .. cluster.StorageArgs]);
        await RunAsync(0, ["upload", Path.Combine(temp.Path, "img"), "--to", outOfScope + "/set1", .. cluster.StorageArgs]);

        var existing = await RefusedAsync(cluster, "--source", outOfScope + "/set1", "--model", model);
        var missing = await RefusedAsync(cluster, "--source", "x-never-created-" + Guid.NewGuid().ToString("N")[..8] + "/set1", "--model", model);
        var jobState = await RefusedAsync(cluster, "--source", "mobilenet-job-state", "--model", model);
        var models = await RefusedAsync(cluster, "--source", inScope + "/set1", "--output", "mobilenet-models/out", "--model", model);
        var outputOutside = await RefusedAsync(cluster, "--source", inScope + "/set1", "--output", outOfScope + "/out", "--model", model);
        var unknownModel = await RefusedAsync(cluster, "--source", inScope + "/set1", "--model", "no-such-model");
        var missingInScope = await RefusedAsync(cluster, "--source", TestStorage.UniqueContainer("none") + "/set1", "--model", model);
        var emptyPrefix = await RefusedAsync(cluster, "--source", inScope + "/set", "--model", model);
        var topK = await RefusedAsync(cluster, "--source", inScope + "/set1", "--model", model, "--top-k", "4");

        Assert.Contains("is outside the storage scope jobs may read", existing, StringComparison.Ordinal);
        // Whether the refused container exists or not, the answer is the same.
        Assert.Equal(existing.Replace(outOfScope, "C", StringComparison.Ordinal), System.Text.RegularExpressions.Regex.Replace(missing, "x-never-created-[0-9a-f]{8}", "C"));
        Assert.Contains("source container 'mobilenet-job-state' belongs to the service itself", jobState, StringComparison.Ordinal);
        Assert.Contains("output container 'mobilenet-models' belongs to the service itself", models, StringComparison.Ordinal);
        Assert.Contains("is outside the storage scope jobs may write", outputOutside, StringComparison.Ordinal);
        Assert.Contains("model 'no-such-model' is not in the model store", unknownModel, StringComparison.Ordinal);
        Assert.Contains("does not exist", missingInScope, StringComparison.Ordinal);
        Assert.Contains($"no blobs under source '{inScope}/set/'", emptyPrefix, StringComparison.Ordinal);
        Assert.Contains("top-k 4 is more than model", topK, StringComparison.Ordinal);

        // Nothing was started by any of them (the registry may list other tests' jobs: none uses this model).
        var jobs = await RunAsync(0, ["jobs", "--limit", "1000", .. cluster.ClientArgs]);
        Assert.DoesNotContain(model, jobs.Stdout, StringComparison.Ordinal);
    }

    private async Task<string> RefusedAsync(SiloProcessCluster cluster, params string[] args)
    {
        // The tiny model has 3 classes: the default top-k (5) would be refused first.
        string[] topK = args.Contains("--top-k") ? [] : ["--top-k", "2"];
        var (_, stderr) = await RunAsync(ExitCodes.BadInput, ["submit", .. args, .. topK, .. cluster.ClientArgs]);
        var lines = stderr.TrimEnd().Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        return lines[0];
    }

    private async Task<(string Stdout, string Stderr)> RunAsync(int expected, string[] args)
    {
        var (code, stdout, stderr) = await Cli.RunAsync(args);
        output.WriteLine($"$ mobilenet {string.Join(' ', args.TakeWhile(a => a != "--storage"))} -> {code}\n{stderr.TrimEnd()}");
        Assert.True(code == expected, $"mobilenet {string.Join(' ', args.TakeWhile(a => a != "--storage"))} exited {code}, expected {expected}: {stderr}");
        return (stdout, stderr);
    }
}
