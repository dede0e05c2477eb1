using MobileNet.Orleans.Client.Local;

namespace MobileNet.Orleans.Client.Tests;

public sealed class BenchCommandTests : IDisposable
{
    private readonly TempDirectory dir = new();

    [Fact]
    public async Task Bench_TinyModelCompareDefaults_PrintsEveryMeasureAndRatios()
    {
        var model = TinyOnnxModel.Write(System.IO.Path.Combine(dir.Path, "model"));
        dir.File("images/a.png", TestImages.SolidPng(255, 0, 0));
        dir.File("images/b.jpg", TestImages.SolidJpeg(0, 0, 255));

        var (code, stdout, stderr) = await Cli.RunAsync(
            "bench", "--model", model, "--images", System.IO.Path.Combine(dir.Path, "images"), "--seconds", "0.1", "--rounds", "3", "--batch", "2", "--compare-default-options");

        Assert.True(code == ExitCodes.Success, stderr);
        var rows = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.Equal(["preprocess skia", "inference tuned", "inference default", "pipeline tuned", "pipeline default"], rows.Skip(1).Take(5).Select(r => $"{r[0]} {r[1]}"));
        // Each measured row: the median, ms per image, then the three rounds, all positive.
        Assert.All(rows.Skip(1).Take(5), r => Assert.All(r.Skip(4), v => Assert.True(double.Parse(v, System.Globalization.CultureInfo.InvariantCulture) > 0, v)));
        Assert.All(rows.Skip(1).Take(5), r => Assert.Equal(3, r.Length - 6));
        Assert.Contains("ratio inference tuned/default: ", stdout, StringComparison.Ordinal);
        Assert.Contains("images: 2 files", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bench_DecoderBoth_MeasuresSkiaAndImageSharpSideBySide()
    {
        var model = TinyOnnxModel.Write(System.IO.Path.Combine(dir.Path, "model"));
        dir.File("images/a.jpg", TestImages.SolidJpeg(0, 0, 255, 640, 480));

        var (code, stdout, stderr) = await Cli.RunAsync(
            "bench", "--model", model, "--images", System.IO.Path.Combine(dir.Path, "images"), "--seconds", "0.1", "--rounds", "2", "--decoder", "both");

        Assert.True(code == ExitCodes.Success, stderr);
        var rows = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.Equal(["preprocess skia", "preprocess imagesharp", "inference tuned", "pipeline tuned"], rows.Skip(1).Take(4).Select(r => $"{r[0]} {r[1]}"));
        Assert.All(rows.Skip(1).Take(2), r => Assert.True(double.Parse(r[5], System.Globalization.CultureInfo.InvariantCulture) > 0, "ms per image"));
        Assert.Contains("ratio preprocess skia/imagesharp: ", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bench_UnknownDecoder_ExitsTwo()
    {
        var model = TinyOnnxModel.Write(System.IO.Path.Combine(dir.Path, "model"));
        var (code, _, stderr) = await Cli.RunAsync("bench", "--model", model, "--decoder", "libpng");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("libpng", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--batch", "0")]
    [InlineData("--seconds", "0")]
    [InlineData("--rounds", "0")]
    [InlineData("--threads", "0")]
    public async Task Bench_BadNumbers_ExitsTwo(string option, string value)
    {
        var model = TinyOnnxModel.Write(System.IO.Path.Combine(dir.Path, "model"));
        var (code, _, stderr) = await Cli.RunAsync("bench", "--model", model, option, value);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains(option, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bench_MissingModel_ExitsTwo()
    {
        var (code, _, _) = await Cli.RunAsync("bench", "--model", System.IO.Path.Combine(dir.Path, "none.onnx"));
        Assert.Equal(ExitCodes.BadInput, code);
    }

    [Fact]
    public void SyntheticImages_SameSeed_SameBytes()
    {
        var a = SyntheticImages.Generate(2, seed: 7);
        var b = SyntheticImages.Generate(2, seed: 7);
        Assert.Equal(a[0], b[0]);
        Assert.Equal(a[1], b[1]);
        Assert.NotEqual(a[0], a[1]);
    }

    public void Dispose() => dir.Dispose();
}
