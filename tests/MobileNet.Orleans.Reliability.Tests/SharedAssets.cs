using System.Collections.Concurrent;
using System.Globalization;
using MobileNet.Modeling.Architectures;
using MobileNet.Orleans.Client;

namespace MobileNet.Orleans.Reliability.Tests;

/// <summary>
/// The generated models (built once per test run with <c>mobilenet models build</c>: MobileNet V1, by default width
/// 0.25 at 96 px - fast, labels meaningless) and the seeded generated datasets (built once per size), shared by all
/// scenarios.
/// </summary>
internal static class SharedAssets
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), "mobilenet-reliability-assets-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static readonly ConcurrentDictionary<int, string> Datasets = new();
    private static readonly Dictionary<(double Width, int Resolution), GeneratedModel> Models = [];

    /// <summary>A generated MobileNet V1 (default 0.25-96, the fast one every scenario uses), built once per run.</summary>
    public static async Task<GeneratedModel> ModelAsync(double width = 0.25, int resolution = 96)
    {
        await Gate.WaitAsync();
        try
        {
            if (!Models.TryGetValue((width, resolution), out var model))
            {
                var tag = string.Create(CultureInfo.InvariantCulture, $"{width}-{resolution}");
                var path = Path.Combine(Root, "model", $"mobilenet-v1-{tag}.onnx");
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                using var stdout = new StringWriter();
                using var stderr = new StringWriter();
                var code = await CliApplication.RunAsync(
                    ["models", "build", "--arch", "mobilenet-v1", "--width", width.ToString(CultureInfo.InvariantCulture),
                     "--resolution", resolution.ToString(CultureInfo.InvariantCulture), "--seed", "7", "-o", path], stdout, stderr);
                Assert.True(code == ExitCodes.Success, $"models build exited {code}: {stderr}");
                model = new GeneratedModel(path, path + ".json", GeneratedModelFiles.LabelsPathFor(path), new FileInfo(path).Length);
                Models[(width, resolution)] = model;
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
                TestImages.BlocksJpeg(unchecked((seed * 1_000_003) + i), size)));
            Datasets[count] = folder;
            return folder;
        }
        finally
        {
            Gate.Release();
        }
    }
}
