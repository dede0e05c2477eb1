using System.Globalization;
using SkiaSharp;

namespace MobileNet.Inference.Tests;

/// <summary>
/// Labels the 200 fixture photos with the zoo model once per test run (shared by every accuracy test) so the suite
/// stays fast, and the same photos upscaled 4x and re-encoded as JPEG q90 (multi-megapixel photos decoded at a
/// reduced DCT scale). Null results when the fixtures are absent; tests then skip.
/// </summary>
public sealed class ZooAccuracyFixture : IAsyncLifetime
{
    private readonly TempDirectory upscaled = new();

    public IReadOnlyList<LabelingRecord>? Records { get; private set; }

    /// <summary>The upscaled copies' records, named like the originals.</summary>
    public IReadOnlyList<LabelingRecord>? UpscaledRecords { get; private set; }

    /// <summary>Expected class index per photo file name, from labels.csv.</summary>
    public IReadOnlyDictionary<string, int>? Expected { get; private set; }

    /// <summary>The torchvision reference per photo: top-1 index and its logit margin over the top-2.</summary>
    public IReadOnlyDictionary<string, (int Top1, double Margin)>? Reference { get; private set; }

    public async Task InitializeAsync()
    {
        if (TestFixtures.Root is null)
        {
            return;
        }

        Expected = TestFixtures.SampleLabels();
        Reference = ResultsCsv.ReadRecords(Path.Combine(TestFixtures.SamplePhotos, "reference-torchvision.csv"))
            .ToDictionary(
                r => r["file"],
                r => (int.Parse(r["top1_index"], CultureInfo.InvariantCulture), double.Parse(r["top1_logit"], CultureInfo.InvariantCulture) - double.Parse(r["top2_logit"], CultureInfo.InvariantCulture)),
                StringComparer.Ordinal);

        var names = Expected.Keys.Order(StringComparer.Ordinal).ToList();
        await Parallel.ForEachAsync(names, (name, _) =>
        {
            File.WriteAllBytes(Path.Combine(upscaled.Path, name), UpscaleJpeg(Path.Combine(TestFixtures.SamplePhotos, name), 4, 90));
            return ValueTask.CompletedTask;
        });

        using var classifier = ImageClassifier.Load(TestFixtures.ZooModel, new ClassifierOptions { LabelsPath = TestFixtures.ImageNetLabels });
        Records = await LabelAsync(classifier, names, TestFixtures.SamplePhotos);
        UpscaledRecords = await LabelAsync(classifier, names, upscaled.Path);
    }

    public Task DisposeAsync()
    {
        upscaled.Dispose();
        return Task.CompletedTask;
    }

    private static async Task<List<LabelingRecord>> LabelAsync(ImageClassifier classifier, List<string> names, string folder)
    {
        var pipeline = new LabelingPipeline(classifier, new LabelingPipelineOptions { TopK = 5, BatchSize = 8 });
        var sources = names.Select(name => ImageSource.FromFile(Path.Combine(folder, name), name)).ToAsyncEnumerable();
        var records = new List<LabelingRecord>();
        await foreach (var record in pipeline.RunAsync(sources, CancellationToken.None))
        {
            records.Add(record);
        }

        return records;
    }

    /// <summary>The photo enlarged <paramref name="factor"/> times (bicubic), re-encoded as a JPEG of <paramref name="quality"/>.</summary>
    private static byte[] UpscaleJpeg(string path, int factor, int quality)
    {
        using var original = SKBitmap.Decode(path) ?? throw new InvalidDataException($"cannot decode {path}");
        using var large = original.Resize(new SKImageInfo(original.Width * factor, original.Height * factor, SKColorType.Rgba8888, SKAlphaType.Opaque), new SKSamplingOptions(SKCubicResampler.Mitchell));
        using var data = large.Encode(SKEncodedImageFormat.Jpeg, quality);
        return data.ToArray();
    }
}
