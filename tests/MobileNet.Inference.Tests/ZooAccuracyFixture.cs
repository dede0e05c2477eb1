using System.Globalization;

namespace MobileNet.Inference.Tests;

/// <summary>
/// Labels the 200 fixture photos with the zoo model once per test run (shared by every accuracy test) so the suite
/// stays fast. Null results when the fixtures are absent; tests then skip.
/// </summary>
public sealed class ZooAccuracyFixture : IAsyncLifetime
{
    public IReadOnlyList<LabelingRecord>? Records { get; private set; }

    /// <summary>Expected class index per photo file name, from labels.csv.</summary>
    public IReadOnlyDictionary<string, int>? Expected { get; private set; }

    public async Task InitializeAsync()
    {
        if (TestFixtures.Root is null)
        {
            return;
        }

        Expected = File.ReadLines(Path.Combine(TestFixtures.SamplePhotos, "labels.csv"))
            .Skip(1)
            .Where(line => line.Length > 0)
            .Select(line => line.Split(','))
            .ToDictionary(parts => parts[0], parts => int.Parse(parts[1], CultureInfo.InvariantCulture));

        using var classifier = ImageClassifier.Load(TestFixtures.ZooModel, new ClassifierOptions { LabelsPath = TestFixtures.ImageNetLabels });
        var pipeline = new LabelingPipeline(classifier, new LabelingPipelineOptions { TopK = 5, BatchSize = 8 });
        var sources = Expected.Keys.Order(StringComparer.Ordinal)
            .Select(name => ImageSource.FromFile(Path.Combine(TestFixtures.SamplePhotos, name), name))
            .ToAsyncEnumerable();
        var records = new List<LabelingRecord>();
        await foreach (var record in pipeline.RunAsync(sources, CancellationToken.None))
        {
            records.Add(record);
        }

        Records = records;
    }

    public Task DisposeAsync() => Task.CompletedTask;
}
