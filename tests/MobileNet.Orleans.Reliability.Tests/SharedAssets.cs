using System.Collections.Concurrent;
using System.Globalization;
using MobileNet.Inference.Architectures;
using MobileNet.Orleans.Client;
using MobileNet.Orleans.Testing;

namespace MobileNet.Orleans.Reliability.Tests;

/// <summary>
/// The generated model (built once per test run with <c>mobilenet models build</c>: MobileNet V1, width 0.25, 96 px -
/// fast, labels meaningless) and the seeded generated datasets (built once per size), shared by all scenarios.
/// </summary>
internal static class SharedAssets
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), "mobilenet-reliability-assets-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static readonly ConcurrentDictionary<int, string> Datasets = new();
    private static GeneratedModel? model;

    public static async Task<GeneratedModel> ModelAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (model is null)
            {
                var path = Path.Combine(Root, "model", "mobilenet-v1-0.25-96.onnx");
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                using var stdout = new StringWriter();
                using var stderr = new StringWriter();
                var code = await CliApplication.RunAsync(["models", "build", "--arch", "mobilenet-v1", "--width", "0.25", "--resolution", "96", "--seed", "7", "-o", path], stdout, stderr);
                Assert.True(code == ExitCodes.Success, $"models build exited {code}: {stderr}");
                model = new GeneratedModel(path, path + ".json", GeneratedModelFiles.LabelsPathFor(path), new FileInfo(path).Length);
            }

            return model;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>A folder of <paramref name="count"/> distinct JPEGs, <c>img-00000.jpg</c> on, from the run's seed.</summary>
    public static async Task<string> ImagesAsync(int count)
    {
        await Gate.WaitAsync();
        try
        {
            if (Datasets.TryGetValue(count, out var existing))
            {
                return existing;
            }

            var folder = Path.Combine(Root, $"images-{count}");
            Directory.CreateDirectory(folder);
            var seed = ReliabilitySettings.Seed;
            var size = ReliabilitySettings.ImageSize;
            Parallel.For(0, count, i => File.WriteAllBytes(
                Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"img-{i:D5}.jpg")),
                TestData.GeneratedJpeg(unchecked((seed * 1_000_003) + i), size)));
            Datasets[count] = folder;
            return folder;
        }
        finally
        {
            Gate.Release();
        }
    }
}
