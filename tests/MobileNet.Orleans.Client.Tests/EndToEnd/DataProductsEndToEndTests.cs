using System.Globalization;
using System.Text.Json;
using Azure.Storage.Blobs;
using MobileNet.Inference;
using MobileNet.Orleans.Client.Tests.Results;
using MobileNet.Orleans.Contracts.Labels;
using Xunit.Abstractions;

namespace MobileNet.Orleans.Client.Tests.EndToEnd;

/// <summary>
/// Issue 12 against real silo processes and Azurite, through the CLI: labels written onto the blobs and found again,
/// results as Parquet and Label Studio tasks, the review queue; incremental jobs, results --latest and retry. With
/// MOBILENET_FIXTURES the fixture photos and the Model Zoo model; without, generated images and a generated model.
/// </summary>
[Trait("Category", "E2E"), Collection(EndToEndCollection.Name)]
public sealed class DataProductsEndToEndTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task TagBlobs_Photos_FindReturnsExactlyEachClassKeepsUserTagsAndETags()
    {
        var storage = TestStorage.RequireConnectionString();
        using var temp = new TempDirectory();
        var (model, photos) = Inputs(temp, 48);
        await using var cluster = new SiloProcessCluster(storage);
        await cluster.StartSilosAsync(1);
        var modelName = "e2e-" + Guid.NewGuid().ToString("N")[..8];
        // Tagging is allowed only inside StorageScope:Tag (t-tag-* for the test silos).
        var container = "t-tag-" + Guid.NewGuid().ToString("N")[..16];
        await RunOkAsync(["models", "upload", modelName, "--file", model, .. cluster.StorageArgs]);
        await RunOkAsync(["upload", photos, "--to", container + "/photos", .. cluster.StorageArgs]);

        var blobs = TestStorage.CreateService().GetBlobContainerClient(container);
        var names = new List<string>();
        await foreach (var item in blobs.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = "photos/" }))
        {
            names.Add(item.Name);
        }

        // The user's own tags: one blob with two (they stay, ours join them), one with seven (no room for our four).
        var withTags = names[1];
        var full = names[2];
        var userTags = new Dictionary<string, string> { ["team"] = "vision", ["camera"] = "north-gate" };
        var fullTags = Enumerable.Range(0, 7).ToDictionary(i => $"user-{i}", i => $"v{i}");
        await blobs.GetBlobClient(withTags).SetTagsAsync(userTags);
        await blobs.GetBlobClient(full).SetTagsAsync(fullTags);
        var etagsBefore = await ETagsAsync(blobs);

        var refused = await Cli.RunAsync(["submit", "--source", TestStorage.UniqueContainer("notag") + "/photos", "--model", modelName, "--tag-blobs", .. cluster.ClientArgs]);
        Assert.Equal(ExitCodes.BadInput, refused.ExitCode);
        Assert.Contains("StorageScope:Tag", refused.Stderr, StringComparison.Ordinal);

        var submit = await RunOkAsync(["submit", "--source", container + "/photos", "--model", modelName, "--shard-size", "16", "--tag-blobs", "--review-below", "0.5", "--review-margin", "0.1", "--wait", .. cluster.ClientArgs]);
        var jobId = submit.Stdout.TrimEnd().Split('\n')[^1];
        var jsonl = Path.Combine(temp.Path, "results.jsonl");
        await RunOkAsync(["results", jobId, "-o", jsonl, .. cluster.ClientArgs]);
        var records = File.ReadAllLines(jsonl).Select(LabelingRecordFormat.ParseJsonLine).ToList();
        Assert.Equal(names.Order(StringComparer.Ordinal), records.Select(r => r.Image));
        var labeled = records.Where(r => r.Succeeded).ToList();

        // Tags: the ETag of every blob is unchanged, the user's tags survive, a full blob is left alone and counted.
        Assert.Equal(etagsBefore, await ETagsAsync(blobs));
        var kept = (await blobs.GetBlobClient(withTags).GetTagsAsync()).Value.Tags;
        Assert.All(userTags, t => Assert.Equal(t.Value, kept[t.Key]));
        Assert.Equal(userTags.Count + BlobLabelTags.OwnTagCount, kept.Count);
        Assert.Equal(jobId, kept[BlobLabelTags.JobKey]);
        Assert.Equal(fullTags.OrderBy(t => t.Key), (await blobs.GetBlobClient(full).GetTagsAsync()).Value.Tags.OrderBy(t => t.Key));
        var review = new ReviewRule(0.5f, 0.1f);
        var expectedReview = labeled.Where(r => review.Needs(r.Labels.Select(l => l.Score).ToArray())).ToList();
        var status = await RunOkAsync(["status", jobId, "--json", .. cluster.ClientArgs]);
        using (var json = JsonDocument.Parse(status.Stdout))
        {
            Assert.Equal(labeled.Any(r => r.Image == full) ? 1 : 0, json.RootElement.GetProperty("tagsSkipped").GetInt64());
            Assert.Equal(expectedReview.Count, json.RootElement.GetProperty("forReview").GetInt64());
        }

        // find: three classes, each exactly the blobs whose top-1 it is (the untagged full blob excepted).
        var classes = labeled.GroupBy(r => r.Labels[0].Label).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Take(3).ToList();
        foreach (var group in classes)
        {
            var found = await RunOkAsync(["find", "--label", group.Key, "--source", container + "/photos", .. cluster.StorageArgs]);
            var expected = group.Where(r => r.Image != full).Select(r => $"{container}/{r.Image}").Order(StringComparer.Ordinal);
            Assert.Equal(expected, found.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        }

        var top = classes[0];
        var bar = top.Min(r => r.Labels[0].Score);
        var minScore = (Math.Floor(bar * 100) / 100).ToString("0.00", CultureInfo.InvariantCulture);
        var confident = await RunOkAsync(["find", "--label", top.Key, "--min-score", minScore, "--source", container + "/photos", "--manifest", .. cluster.StorageArgs]);
        Assert.Equal(top.Where(r => r.Image != full).Select(r => r.Image).Order(StringComparer.Ordinal), confident.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));

        // Parquet, read by the low-level reader: the same rows as the JSONL file.
        var parquet = Path.Combine(temp.Path, "results.parquet");
        await RunOkAsync(["results", jobId, "-o", parquet, .. cluster.ClientArgs]);
        var (rows, _, _) = await ParquetLowLevelReader.ReadAsync(parquet);
        Assert.Equal(File.ReadAllLines(jsonl), rows.Select(r => LabelingRecordFormat.ToJsonLine(r.Record)));
        Assert.All(rows, r => Assert.Equal(jobId, r.JobId));

        // The review queue as Label Studio tasks: the import format, by ascending score, exactly the images the rule picks.
        var tasksFile = Path.Combine(temp.Path, "review.json");
        await RunOkAsync(["results", jobId, "--review", "--format", "labelstudio", "-o", tasksFile, .. cluster.ClientArgs]);
        using (var tasks = JsonDocument.Parse(File.ReadAllText(tasksFile)))
        {
            var list = tasks.RootElement.EnumerateArray().ToList();
            list.ForEach(t => LabelStudioTaskFormat.Validate(t, "choice", "image"));
            Assert.Equal(expectedReview.OrderBy(r => r.Labels[0].Score).ThenBy(r => r.Image, StringComparer.Ordinal).Select(r => r.Image), list.Select(t => t.GetProperty("data").GetProperty("name").GetString()));
            Assert.All(list, t => Assert.Contains($"/{container}/photos/", t.GetProperty("data").GetProperty("image").GetString(), StringComparison.Ordinal));
        }

        output.WriteLine($"{records.Count} images, {labeled.Count} labeled, {expectedReview.Count} for review; classes checked: {string.Join(", ", classes.Select(c => $"{c.Key} ({c.Count()})"))}");
    }

    [SkippableFact]
    public async Task Incremental_GrowAndOverwriteThenRetry_LatestHasEveryBlobOnceNewestWins()
    {
        var storage = TestStorage.RequireConnectionString();
        using var temp = new TempDirectory();
        var (model, photos) = Inputs(temp, 40);
        var files = Directory.GetFiles(photos).Where(f => Commands.UploadCommand.ImageExtensions.Contains(Path.GetExtension(f))).Order(StringComparer.Ordinal).ToList();
        // N = base photos + 3 blobs that are not images (3% error rows with the fixtures: 97 + 3).
        var baseCount = Math.Min(97, files.Count - 10);
        var n = baseCount + 3;
        var step = Math.Max(1, (int)Math.Round(n * 0.05));
        await using var cluster = new SiloProcessCluster(storage);
        await cluster.StartSilosAsync(1);
        var modelName = "e2e-" + Guid.NewGuid().ToString("N")[..8];
        var container = TestStorage.UniqueContainer("inc");
        var source = container + "/photos";
        await RunOkAsync(["models", "upload", modelName, "--file", model, .. cluster.StorageArgs]);
        var blobs = TestStorage.CreateService().GetBlobContainerClient(container);
        await blobs.CreateIfNotExistsAsync();
        async Task PutAsync(string name, string file) => await blobs.GetBlobClient("photos/" + name).UploadAsync(file, overwrite: true);
        foreach (var file in files.Take(baseCount))
        {
            await PutAsync(Path.GetFileName(file), file);
        }

        var broken = Enumerable.Range(0, 3).Select(i => $"zz-broken-{i}.jpg").ToList();
        foreach (var name in broken)
        {
            await blobs.GetBlobClient("photos/" + name).UploadAsync(BinaryData.FromString("not a picture"), overwrite: true);
        }

        var first = await SubmitAsync(cluster, ["--source", source, "--model", modelName, "--shard-size", "16", "--incremental"]);
        var firstRows = await ResultsAsync(cluster, temp, first);
        Assert.Equal(n, firstRows.Count);
        Assert.Equal(3, firstRows.Values.Count(r => !r.Succeeded));

        // 5% new photos, 5% overwritten with other photos.
        var added = files.Skip(baseCount).Take(step).Select(f => (Name: "new-" + Path.GetFileName(f), File: f)).ToList();
        var overwritten = files.Take(step).Zip(files.Skip(baseCount + step).Take(step), (old, other) => (Name: Path.GetFileName(old), File: other)).ToList();
        foreach (var (name, file) in added.Concat(overwritten))
        {
            await PutAsync(name, file);
        }

        var second = await SubmitAsync(cluster, ["--source", source, "--model", modelName, "--shard-size", "16", "--incremental"]);
        var secondRows = await ResultsAsync(cluster, temp, second);
        Assert.Equal(added.Concat(overwritten).Select(a => "photos/" + a.Name).Order(StringComparer.Ordinal), secondRows.Keys.Order(StringComparer.Ordinal));

        var latest = await LatestAsync(cluster, temp, source, modelName);
        Assert.Equal(n + step, latest.Count);
        Assert.Equal(latest.Select(r => r.Record.Image).Distinct().Order(StringComparer.Ordinal), latest.Select(r => r.Record.Image));
        foreach (var (record, job) in latest)
        {
            var expected = secondRows.TryGetValue(record.Image, out var newer) ? (newer, second) : (firstRows[record.Image], first);
            Assert.Equal(expected, (record, job));
        }

        // The broken blobs are fixed, then only their error rows are labeled again and folded into --latest.
        foreach (var (name, file) in broken.Zip(files.Skip(baseCount + (2 * step)).Take(3)))
        {
            await PutAsync(name, file);
        }

        var retry = await RunOkAsync(["retry", first, "--wait", .. cluster.ClientArgs]);
        var retryId = retry.Stdout.TrimEnd().Split('\n')[^1];
        var retryRows = await ResultsAsync(cluster, temp, retryId);
        Assert.Equal(broken.Select(b => "photos/" + b), retryRows.Keys.Order(StringComparer.Ordinal));
        Assert.All(retryRows.Values, r => Assert.True(r.Succeeded, r.Error));
        var folded = await LatestAsync(cluster, temp, source, modelName);
        Assert.Equal(n + step, folded.Count);
        Assert.Equal(folded.Select(r => r.Record.Image).Distinct().Order(StringComparer.Ordinal), folded.Select(r => r.Record.Image));
        Assert.All(folded, r => Assert.True(r.Record.Succeeded));
        Assert.Equal(broken.Select(b => "photos/" + b), folded.Where(r => r.JobId == retryId).Select(r => r.Record.Image));

        // Nothing changed since: an incremental job finds nothing to label and completes.
        var idle = await SubmitAsync(cluster, ["--source", source, "--model", modelName, "--incremental"]);
        var idleStatus = await RunOkAsync(["status", idle, "--json", .. cluster.ClientArgs]);
        using var json = JsonDocument.Parse(idleStatus.Stdout);
        Assert.Equal("Completed", json.RootElement.GetProperty("state").GetString());
        Assert.Equal(0, json.RootElement.GetProperty("totalImages").GetInt64());
        output.WriteLine($"N={n}: second job {secondRows.Count} images, retry {retryRows.Count}, latest {folded.Count} rows from {folded.Select(r => r.JobId).Distinct().Count()} jobs");
    }

    [SkippableFact]
    public async Task Follow_BlobsArriveInWaves_EachLabeledOnceThenCancelEndsIt()
    {
        var storage = TestStorage.RequireConnectionString();
        using var temp = new TempDirectory();
        var model = TestFixtures.Root is { } fixtures ? Path.Combine(fixtures, "models", "mobilenetv2-12-int8.onnx") : GeneratedModels.WriteV2(temp.Path);
        await using var cluster = new SiloProcessCluster(storage);
        await cluster.StartSilosAsync(1);
        var modelName = "e2e-" + Guid.NewGuid().ToString("N")[..8];
        var container = TestStorage.UniqueContainer("follow");
        await RunOkAsync(["models", "upload", modelName, "--file", model, .. cluster.StorageArgs]);
        var blobs = TestStorage.CreateService().GetBlobContainerClient(container);
        await blobs.CreateIfNotExistsAsync();
        var uploaded = new List<string>();
        async Task WaveAsync(int wave)
        {
            // Names of a later wave sort before earlier ones too: arrival is unordered.
            for (var i = 0; i < 8; i++)
            {
                var name = $"cam/{(char)('z' - wave)}-{i:D2}.jpg";
                await blobs.GetBlobClient(name).UploadAsync(BinaryData.FromBytes(TestImages.BlocksJpeg((wave * 100) + i)), overwrite: true);
                uploaded.Add(name);
            }
        }

        await WaveAsync(0);
        var submit = await RunOkAsync(["submit", "--source", container + "/cam", "--model", modelName, "--shard-size", "4", "--follow", "--every", "1s", .. cluster.ClientArgs]);
        var jobId = submit.Stdout.TrimEnd().Split('\n')[^1];
        await WaitLabeledAsync(cluster, jobId, 8);
        await WaveAsync(1);
        await WaveAsync(2);
        var status = await WaitLabeledAsync(cluster, jobId, 24);
        Assert.True(status.GetProperty("lagSeconds").ValueKind == JsonValueKind.Number);
        Assert.Equal(24, status.GetProperty("labeledLastHour").GetInt64());
        await RunOkAsync(["cancel", jobId, .. cluster.ClientArgs]);
        var rows = await ResultsAsync(cluster, temp, jobId);
        Assert.Equal(uploaded.Order(StringComparer.Ordinal), rows.Keys.Order(StringComparer.Ordinal));
    }

    /// <summary>Polls status until the job has processed <paramref name="count"/> images (and no more show up at the next round).</summary>
    private async Task<JsonElement> WaitLabeledAsync(SiloProcessCluster cluster, string jobId, long count)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromMinutes(3);
        while (true)
        {
            var (_, stdout, _) = await Cli.RunAsync(["status", jobId, "--json", .. cluster.ClientArgs]);
            using var json = JsonDocument.Parse(stdout);
            var root = json.RootElement;
            var done = root.GetProperty("labeled").GetInt64() + root.GetProperty("errors").GetInt64();
            Assert.True(done <= count, $"{done} images processed, only {count} were uploaded");
            if (done == count && root.GetProperty("shardsRunning").GetInt32() == 0 && root.GetProperty("shardsPending").GetInt32() == 0)
            {
                output.WriteLine(stdout);
                return root.Clone();
            }

            Assert.True(DateTimeOffset.UtcNow < deadline, $"follow job {jobId} processed {done} of {count} images in 3 minutes");
            await Task.Delay(500);
        }
    }

    private async Task<string> SubmitAsync(SiloProcessCluster cluster, string[] args)
    {
        var submit = await RunOkAsync(["submit", .. args, "--wait", .. cluster.ClientArgs]);
        return submit.Stdout.TrimEnd().Split('\n')[^1];
    }

    private async Task<Dictionary<string, LabelingRecord>> ResultsAsync(SiloProcessCluster cluster, TempDirectory temp, string jobId)
    {
        var file = Path.Combine(temp.Path, jobId + ".jsonl");
        await RunOkAsync(["results", jobId, "-o", file, .. cluster.ClientArgs]);
        return File.ReadAllLines(file).Select(LabelingRecordFormat.ParseJsonLine).ToDictionary(r => r.Image, StringComparer.Ordinal);
    }

    /// <summary>results --latest as Parquet: the rows with the job that labeled each.</summary>
    private async Task<List<(LabelingRecord Record, string JobId)>> LatestAsync(SiloProcessCluster cluster, TempDirectory temp, string source, string modelName)
    {
        var file = Path.Combine(temp.Path, "latest-" + Guid.NewGuid().ToString("N")[..6] + ".parquet");
        await RunOkAsync(["results", "--latest", source, "--model", modelName, "-o", file, .. cluster.ClientArgs]);
        return (await ParquetLowLevelReader.ReadAsync(file)).Rows;
    }

    private (string Model, string Photos) Inputs(TempDirectory temp, int generated)
    {
        if (TestFixtures.Root is { } fixtures)
        {
            return (Path.Combine(fixtures, "models", "mobilenetv2-12-int8.onnx"), Path.Combine(fixtures, "photos", "imagenet-sample-200"));
        }

        output.WriteLine($"MOBILENET_FIXTURES not set: generated model and {generated} generated images");
        var model = GeneratedModels.WriteV2(temp.Path);
        for (var i = 0; i < generated; i++)
        {
            temp.File(Path.Combine("photos", $"gen-{i:D3}.jpg"), TestImages.BlocksJpeg(i));
        }

        return (model, Path.Combine(temp.Path, "photos"));
    }

    private static async Task<List<(string Name, string ETag)>> ETagsAsync(BlobContainerClient container)
    {
        var list = new List<(string, string)>();
        await foreach (var item in container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = "photos/" }))
        {
            list.Add((item.Name, item.Properties.ETag!.Value.ToString()));
        }

        return list;
    }

    private async Task<(string Stdout, string Stderr)> RunOkAsync(string[] args)
    {
        var (code, stdout, stderr) = await Cli.RunAsync(args);
        output.WriteLine($"$ mobilenet {args[0]} ... -> {code}\n{stderr.TrimEnd()}");
        Assert.True(code == ExitCodes.Success, $"mobilenet {string.Join(' ', args.TakeWhile(a => a != "--storage"))} exited {code}: {stderr}");
        return (stdout, stderr);
    }
}
