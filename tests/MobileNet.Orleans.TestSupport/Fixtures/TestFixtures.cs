using System.Globalization;
using MobileNet.Orleans.Testing.Results;

namespace MobileNet.Orleans.Testing.Fixtures;

/// <summary>
/// Locates the optional real fixtures (ONNX Model Zoo model, labelled photos) through MOBILENET_FIXTURES.
/// The project never needs them; tests that do are skipped with a clear reason when they are absent.
/// </summary>
public static class TestFixtures
{
    public const string Variable = "MOBILENET_FIXTURES";

    public static string? Root
    {
        get
        {
            var root = Environment.GetEnvironmentVariable(Variable);
            return !string.IsNullOrWhiteSpace(root) && Directory.Exists(root) ? root : null;
        }
    }

    public static string RequireRoot()
    {
        var root = Root;
        Skip.If(root is null, $"Real fixtures absent: set {Variable} to the folder holding models/ and photos/ (CI points it at ../shared/fixtures).");
        return root!;
    }

    public static string ZooModel => Path.Combine(RequireRoot(), "models", "mobilenetv2-12-int8.onnx");

    public static string ImageNetLabels => Path.Combine(RequireRoot(), "models", "imagenet_classes.txt");

    public static string SamplePhotos => Path.Combine(RequireRoot(), "photos", "imagenet-sample-200");

    public static string LargePhotos => Path.Combine(RequireRoot(), "photos", "large");

    /// <summary>The sample photos' true ImageNet class index by file name (labels.csv).</summary>
    public static Dictionary<string, int> SampleLabels() =>
        ResultsCsv.ReadRecords(Path.Combine(SamplePhotos, "labels.csv"))
            .ToDictionary(r => r["file"], r => int.Parse(r["class_index"], CultureInfo.InvariantCulture), StringComparer.Ordinal);
}
