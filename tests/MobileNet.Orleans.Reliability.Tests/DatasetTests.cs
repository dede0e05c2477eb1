using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;
using Xunit.Abstractions;

namespace MobileNet.Orleans.Reliability.Tests;

/// <summary>Scenarios 6 and 7 of issue 4: hostile blobs in the dataset, and the error threshold.</summary>
[Trait("Category", "Reliability")]
public sealed class DatasetTests(ITestOutputHelper output)
{
    private const long MaxSiloPeakBytes = 1536L * 1024 * 1024;

    [SkippableFact]
    public async Task HostileBlobs_InDataset_EachEndsAsOneRowSilosStayUpAndBounded()
    {
        await using var run = await ScenarioRun.StartAsync("6", "hostile blobs among generated images (2 silos)", output, silos: 2);
        await run.UploadImagesAsync(Faults.Images, prefix: "data");
        var service = new BlobServiceClient(run.Cluster.Storage);
        var container = service.GetBlobContainerClient(run.Container);
        var valid = TestImages.BlocksJpeg(424242, 64);
        var hostile = new Dictionary<string, (byte[] Bytes, bool MustFail)>(StringComparer.Ordinal)
        {
            ["data/hostile/zero-bytes.jpg"] = ([], true),
            ["data/hostile/truncated.jpg"] = (valid[..(valid.Length / 2)], true),
            ["data/hostile/text-named.jpg"] = ("this is not an image, just text with a .jpg name\n"u8.ToArray(), true),
            ["data/hostile/png-claims-100000x100000.png"] = (HandMadeImages.PngWithClaimedSize(100_000, 100_000), true),
            ["data/hostile/sixty-megabytes.jpg"] = (SixtyMegabytes(), true),
            ["data/hostile/cmyk.jpg"] = (HandMadeImages.CmykJpeg(40, 200, 120, 30), false),
            ["data/hostile/sixteen-bit.png"] = (SixteenBitPng(), false),
            ["data/hostile/animated.gif"] = (AnimatedGif(), false),
            ["data/hostile/exif-rotated.jpg"] = (ExifRotatedJpeg(), false),
            ["data/hostile/name with spaces.jpg"] = (valid, false),
            ["data/hostile/ünïcødé-名前-🙂.jpg"] = (valid, false),
            ["data/hostile/dots/../escape.jpg"] = (valid, false),
            ["data/hostile/./dot-segment.jpg"] = (valid, false),
        };
        foreach (var (name, (bytes, _)) in hostile)
        {
            await container.GetBlobClient(name).UploadAsync(BinaryData.FromBytes(bytes), overwrite: true);
        }

        // The dataset is what storage lists (a client library may normalise a name such as "dots/../escape.jpg").
        var names = new List<string>();
        await foreach (var blob in container.GetBlobsAsync(new GetBlobsOptions { Prefix = "data/" }))
        {
            names.Add(blob.Name);
        }

        output.WriteLine("hostile names as stored: " + string.Join(" | ", names.Where(n => !n.StartsWith("data/img-", StringComparison.Ordinal))));
        var job = await run.SubmitAsync(prefix: "data");
        var (_, figures) = await Faults.FinishAsync(run, job, names, "Completed", null, "no fault to recover from", record: false);
        var rows = figures.Records.ToDictionary(r => r.Image, StringComparer.Ordinal);
        foreach (var name in names.Where(n => !n.StartsWith("data/img-", StringComparison.Ordinal)))
        {
            var row = rows[name];
            output.WriteLine($"{name}: {(row.Succeeded ? "label " + row.Labels[0].Label : "error " + row.Error)}");
            var key = hostile.Keys.FirstOrDefault(k => k == name);
            if (key is not null && hostile[key].MustFail)
            {
                Assert.False(row.Succeeded, $"{name} was labeled instead of becoming an error row");
            }
        }

        // Output locations cannot be escaped: everything the job wrote is under <output>/<jobId>/.
        var status = await run.StatusJsonAsync(job);
        var outputPath = status.GetProperty("output").GetString()!;
        var slash = outputPath.IndexOf('/', StringComparison.Ordinal);
        var outputContainer = service.GetBlobContainerClient(slash < 0 ? outputPath : outputPath[..slash]);
        var outputPrefix = slash < 0 ? "" : outputPath[(slash + 1)..].TrimEnd('/') + "/";
        var jobFolder = outputPrefix + job + "/";
        await foreach (var blob in outputContainer.GetBlobsAsync(new GetBlobsOptions()))
        {
            Assert.True(!blob.Name.Contains(job, StringComparison.Ordinal) || blob.Name.StartsWith(jobFolder, StringComparison.Ordinal), $"the job wrote {blob.Name} outside {jobFolder}");
        }

        await foreach (var blob in container.GetBlobsAsync(new GetBlobsOptions()))
        {
            Assert.True(blob.Name.StartsWith("data/", StringComparison.Ordinal) || blob.Name.StartsWith(jobFolder, StringComparison.Ordinal), $"unexpected blob {blob.Name} in the source container");
        }

        await AssertDeletedAfterListingIsAnErrorRowAsync(run, container, valid);

        var peaks = run.Cluster.Silos.Select(s => (s.Name, Peak: s.PeakWorkingSetBytes() ?? 0)).ToList();
        output.WriteLine("silo peak memory: " + string.Join(", ", peaks.Select(p => $"{p.Name} {p.Peak / (1024 * 1024)} MiB")));
        Assert.All(peaks, p => Assert.True(p.Peak < MaxSiloPeakBytes, $"{p.Name} peaked at {p.Peak / (1024 * 1024)} MiB"));
        run.Record(figures, null, "no fault to recover from", "Completed", new Dictionary<string, object?>
        {
            ["hostileBlobs"] = hostile.Count,
            ["errorReasons"] = string.Join(", ", figures.ErrorReasons.Select(r => $"{r.Key} x{r.Value}")),
            ["siloPeakMiB"] = string.Join(", ", peaks.Select(p => $"{p.Name}={p.Peak / (1024 * 1024)}")),
        });
    }

    /// <summary>
    /// A blob that is listed and then deleted before its shard reads it. Deleting it after a prefix listing raced the
    /// workers (a fast silo had labeled it already), so the listing here is a manifest written before the delete:
    /// the same read path, with no race.
    /// </summary>
    private static async Task AssertDeletedAfterListingIsAnErrorRowAsync(ScenarioRun run, BlobContainerClient container, byte[] valid)
    {
        const string kept = "listed/kept.jpg";
        const string deleted = "listed/deleted-after-listing.jpg";
        await container.GetBlobClient(kept).UploadAsync(BinaryData.FromBytes(valid), overwrite: true);
        await container.GetBlobClient(deleted).UploadAsync(BinaryData.FromBytes(valid), overwrite: true);
        await container.GetBlobClient("listed.txt").UploadAsync(BinaryData.FromString($"{kept}\n{deleted}\n"), overwrite: true);
        await container.GetBlobClient(deleted).DeleteAsync();

        var (stdout, _) = await run.CliOkAsync(["submit", "--source", run.Container, "--manifest", "listed.txt", "--model", run.ModelName, .. run.Cluster.ClientArgs]);
        var job = stdout.TrimEnd().Split('\n')[^1].Trim();
        var (_, figures) = await Faults.FinishAsync(run, job, [kept, deleted], "Completed", null, "no fault to recover from", record: false);
        var rows = figures.Records.ToDictionary(r => r.Image, StringComparer.Ordinal);
        Assert.True(rows[kept].Succeeded, $"{kept}: {rows[kept].Error}");
        Assert.False(rows[deleted].Succeeded, $"{deleted} was labeled instead of becoming an error row");
        Assert.Contains("not-found", rows[deleted].Error, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task ErrorThreshold_ThirtyPercentBroken_FailsWithReasonAndWithoutThresholdCompletes()
    {
        await using var run = await ScenarioRun.StartAsync("7", "30% broken images: --max-errors 10% fails with a reason; no threshold completes (2 silos)", output, silos: 2);
        var names = await run.UploadImagesAsync(Faults.Images, prefix: "mixed");
        var container = new BlobServiceClient(run.Cluster.Storage).GetBlobContainerClient(run.Container);
        var broken = names.Where((_, i) => i % 10 < 3).ToList();
        await Parallel.ForEachAsync(broken, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (name, ct) =>
            await container.GetBlobClient(name).UploadAsync(BinaryData.FromString("not an image"), overwrite: true, ct));

        var strict = await run.SubmitAsync("mixed", null, null, "--max-errors", "10%");
        var strictStatus = await run.WaitEndAsync(strict);
        Assert.Equal("Failed", strictStatus.GetProperty("state").GetString());
        var reason = strictStatus.GetProperty("failureReason").GetString();
        Assert.Contains("error threshold", reason, StringComparison.Ordinal);
        var statusText = await run.CliOkAsync(["status", strict, .. run.Cluster.ClientArgs]);
        Assert.Contains(reason!, statusText.Stdout, StringComparison.Ordinal);
        // Shards that were writing their results when the job failed still report (their rows are kept and counted):
        // wait until the counts settle before comparing status with results.
        strictStatus = await SettledStatusAsync(run, strict);
        var kept = await run.CheckResultsAsync(strict, names);
        Assert.Equal(0, kept.Duplicated);
        Assert.Equal(0, kept.Foreign);
        Assert.Equal(strictStatus.GetProperty("labeled").GetInt64(), kept.Labeled);
        Assert.Equal(strictStatus.GetProperty("errors").GetInt64(), kept.ErrorRows);

        var lenient = await run.SubmitAsync("mixed");
        var (_, figures) = await Faults.FinishAsync(run, lenient, names, "Completed", null, "no fault to recover from", new Dictionary<string, object?>
        {
            ["withThreshold"] = $"Failed: {reason}; kept {kept.Labeled} labeled + {kept.ErrorRows} error rows, no duplicates",
        });
        Assert.Equal(broken.Count, figures.ErrorRows);
        Assert.All(figures.Records.Where(r => !r.Succeeded), r => Assert.Contains(r.Image, broken));
    }

    private static async Task<System.Text.Json.JsonElement> SettledStatusAsync(ScenarioRun run, string job)
    {
        var previous = await run.StatusJsonAsync(job);
        for (var i = 0; i < 20; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(3));
            var current = await run.StatusJsonAsync(job);
            if (current.GetProperty("labeled").GetInt64() == previous.GetProperty("labeled").GetInt64() &&
                current.GetProperty("errors").GetInt64() == previous.GetProperty("errors").GetInt64())
            {
                return current;
            }

            previous = current;
        }

        return previous;
    }

    private static byte[] SixtyMegabytes()
    {
        var bytes = new byte[60 * 1024 * 1024];
        new Random(60).NextBytes(bytes);
        bytes[0] = 0xFF;
        bytes[1] = 0xD8; // a JPEG start, then noise
        return bytes;
    }

    private static byte[] SixteenBitPng()
    {
        using var image = new Image<Rgba64>(40, 30);
        for (var y = 0; y < 30; y++)
        {
            for (var x = 0; x < 40; x++)
            {
                image[x, y] = new Rgba64((ushort)(x * 1600), (ushort)(y * 2100), 30000, 65535);
            }
        }

        using var stream = new MemoryStream();
        image.Save(stream, new PngEncoder { BitDepth = PngBitDepth.Bit16, ColorType = PngColorType.RgbWithAlpha });
        return stream.ToArray();
    }

    private static byte[] AnimatedGif()
    {
        using var image = new Image<Rgba32>(32, 32, new Rgba32(255, 0, 0));
        for (var i = 1; i < 4; i++)
        {
            using var frame = new Image<Rgba32>(32, 32, new Rgba32((byte)(i * 60), 255, 0));
            image.Frames.AddFrame(frame.Frames.RootFrame);
        }

        using var stream = new MemoryStream();
        image.Save(stream, new GifEncoder());
        return stream.ToArray();
    }

    private static byte[] ExifRotatedJpeg()
    {
        using var image = Image.Load<Rgb24>(TestImages.BlocksJpeg(77, 64));
        image.Metadata.ExifProfile = new ExifProfile();
        image.Metadata.ExifProfile.SetValue(ExifTag.Orientation, (ushort)6); // rotate 90 degrees clockwise to display
        using var stream = new MemoryStream();
        image.SaveAsJpeg(stream);
        return stream.ToArray();
    }
}
