using System.Text.Json;
using MobileNet.Inference;

namespace MobileNet.Orleans.Client.Tests;

public sealed class ModelsBuildInspectCommandTests
{
    [Fact]
    public async Task ModelsBuild_ThenInspectJson_ReportsTheSameCounts()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "sub", "v1.onnx");

        var (buildCode, buildOut, buildErr) = await Cli.RunAsync("models", "build", "--arch", "mobilenet-v1", "--width", "0.25", "--resolution", "128", "--classes", "10", "-o", path);
        var (code, stdout, stderr) = await Cli.RunAsync("models", "inspect", path, "--json");

        Assert.True(buildCode == ExitCodes.Success, buildErr);
        Assert.True(code == ExitCodes.Success, stderr);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        var parameters = root.GetProperty("parameters").GetInt64();
        var multiplyAdds = root.GetProperty("multiplyAdds").GetInt64();
        // 0.25-128: conv weights 207,600 + FC 256x10 weights + 10 biases.
        Assert.Equal(207_600 + 2_560 + 10, parameters);
        Assert.Contains(parameters.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), buildOut, StringComparison.Ordinal);
        Assert.Contains(multiplyAdds.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), buildOut, StringComparison.Ordinal);
        Assert.Equal(28, root.GetProperty("layers").EnumerateArray().Count(l => l.GetProperty("op").GetString() is "Conv" or "Gemm"));
        var input = root.GetProperty("inputs")[0];
        Assert.Equal("input", input.GetProperty("name").GetString());
        Assert.Equal("batch", input.GetProperty("shape")[0].GetString());
        Assert.Equal(128, input.GetProperty("shape")[3].GetInt32());
        Assert.Equal(10, root.GetProperty("outputs")[0].GetProperty("shape")[1].GetInt32());
    }

    /// <summary>Table 3 of "Searching for MobileNetV3" (Howard et al. 2019): parameters and multiply-adds at 224.</summary>
    [Theory]
    [InlineData("mobilenet-v3-large", "1.0", 5.4e6, 219e6)]
    [InlineData("mobilenet-v3-large", "0.75", 4.0e6, 155e6)]
    [InlineData("mobilenet-v3-small", "1.0", 2.5e6, 56e6)]
    [InlineData("mobilenet-v3-small", "0.75", 2.0e6, 44e6)]
    public async Task ModelsBuildV3_ThenInspectJson_ReproducesThePaperWithin2Percent(string arch, string width, double parameters, double multiplyAdds)
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "v3.onnx");

        var (buildCode, _, buildErr) = await Cli.RunAsync("models", "build", "--arch", arch, "--width", width, "-o", path);
        var (code, stdout, stderr) = await Cli.RunAsync("models", "inspect", path, "--json");

        Assert.True(buildCode == ExitCodes.Success, buildErr);
        Assert.True(code == ExitCodes.Success, stderr);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.InRange(root.GetProperty("parameters").GetInt64(), parameters * 0.98, parameters * 1.02);
        Assert.InRange(root.GetProperty("multiplyAdds").GetInt64(), multiplyAdds * 0.98, multiplyAdds * 1.02);
        Assert.True(root.GetProperty("complete").GetBoolean());
        Assert.Contains(root.GetProperty("layers").EnumerateArray(), l => l.GetProperty("op").GetString() == "Conv"
            && l.GetProperty("name").GetString()!.EndsWith("_se_expand", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ModelsInspect_CompareFullConvOnV1_Shows8To9TimesNextToTheFormula()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "v1.onnx");
        await Cli.RunAsync("models", "build", "--arch", "mobilenet-v1", "-o", path);

        var (code, stdout, stderr) = await Cli.RunAsync("models", "inspect", path, "--compare-full-conv");
        var (jsonCode, jsonOut, _) = await Cli.RunAsync("models", "inspect", path, "--compare-full-conv", "--json");

        Assert.True(code == ExitCodes.Success, stderr);
        Assert.Contains("1/N+1/K^2", stdout, StringComparison.Ordinal);
        // Block 1 (32 -> 64 channels): 1/64 + 1/9 = 0.1267, 7.9x; every later block 8.4x to 8.9x; 8.7x overall.
        Assert.Matches(@"conv_dw_1 \+ conv_pw_1 +32 +64 +3 +112x112 .* 0\.1267 +0\.1267 +7\.9x", stdout);
        Assert.Matches(@"all blocks .* 8\.7x", stdout);
        Assert.Equal(ExitCodes.Success, jsonCode);
        using var json = JsonDocument.Parse(jsonOut);
        var comparison = json.RootElement.GetProperty("fullConvolutionComparison");
        Assert.InRange(comparison.GetProperty("timesCheaper").GetDouble(), 8.0, 9.0);
        var blocks = comparison.GetProperty("blocks").EnumerateArray().ToList();
        Assert.Equal(13, blocks.Count);
        Assert.All(blocks, b => Assert.Equal(b.GetProperty("formula").GetDouble(), b.GetProperty("ratio").GetDouble(), 1e-9));
    }

    [Fact]
    public async Task ModelsInspect_WithoutCompareFullConv_JsonHasNoComparison()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "v1.onnx");
        await Cli.RunAsync("models", "build", "--arch", "v1", "--width", "0.25", "--resolution", "64", "--classes", "3", "-o", path);

        var (_, stdout, _) = await Cli.RunAsync("models", "inspect", path, "--json");

        using var json = JsonDocument.Parse(stdout);
        Assert.False(json.RootElement.TryGetProperty("fullConvolutionComparison", out _));
    }

    [Fact]
    public async Task ModelsBuild_WritesSidecarTheClassifierReads()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "v2.onnx");
        // A stray ImageNet label file beside the model must not be picked up for a 7-class model.
        dir.File("imagenet_classes.txt", "x\n"u8.ToArray());

        var (code, _, stderr) = await Cli.RunAsync("models", "build", "--arch", "mobilenet-v2", "--width", "0.35", "--resolution", "96", "--classes", "7", "-o", path);
        var description = ModelDescription.Load(path);

        Assert.True(code == ExitCodes.Success, stderr);
        Assert.Equal(ModelOutputKind.Probabilities, description.Outputs);
        Assert.Equal((96, 96, 7), (description.Width, description.Height, description.ClassCount));
        Assert.Equal(["class_0", "class_1", "class_2", "class_3", "class_4", "class_5", "class_6"], description.Labels!);
    }

    [Fact]
    public async Task ModelsInspect_Text_ShowsTotalsAndLayerTable()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "m.onnx");
        await Cli.RunAsync("models", "build", "--arch", "v1", "--full-conv", "--width", "0.25", "--resolution", "64", "--classes", "3", "-o", path);

        var (code, stdout, _) = await Cli.RunAsync("models", "inspect", path);

        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("parameters", stdout, StringComparison.Ordinal);
        Assert.Contains("mult-adds", stdout, StringComparison.Ordinal);
        Assert.Contains("conv_full_13", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("conv_dw_", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--arch", "mobilenet-v3", "--arch")]
    [InlineData("--width", "0", "width")]
    [InlineData("--width", "5", "width")]
    [InlineData("--resolution", "100", "resolution")]
    [InlineData("--resolution", "16", "resolution")]
    [InlineData("--classes", "0", "classes")]
    [InlineData("--width", "abc", "abc")]
    public async Task ModelsBuild_BadOption_ExitsTwoSayingWhatToFix(string option, string value, string expected)
    {
        using var dir = new TempDirectory();
        string[] args = option == "--arch"
            ? ["models", "build", "--arch", value, "-o", Path.Combine(dir.Path, "m.onnx")]
            : ["models", "build", "--arch", "mobilenet-v1", option, value, "-o", Path.Combine(dir.Path, "m.onnx")];

        var (code, _, stderr) = await Cli.RunAsync(args);

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir.Path, "m.onnx")));
    }

    [Fact]
    public async Task ModelsBuild_FullConvWithV2_ExitsTwo()
    {
        using var dir = new TempDirectory();

        var (code, _, stderr) = await Cli.RunAsync("models", "build", "--arch", "mobilenet-v2", "--full-conv", "-o", Path.Combine(dir.Path, "m.onnx"));

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("full-convolution", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelsInspect_MissingFile_ExitsTwoWithOneLine()
    {
        var (code, stdout, stderr) = await Cli.RunAsync("models", "inspect", "/nonexistent/model.onnx");

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Equal("error: model file not found: /nonexistent/model.onnx", stderr.Trim());
        Assert.Empty(stdout);
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0x50, 0x4B, 0x03, 0x04, 0x14, 0x00 })]
    [InlineData(new byte[] { 0x08, 0x08, 0x3A, 0xFF, 0xFF, 0xFF, 0x0F })]
    public async Task ModelsInspect_CorruptFile_ExitsTwoWithOneLine(byte[] content)
    {
        using var dir = new TempDirectory();
        var path = dir.File("bad.onnx", content);

        var (code, stdout, stderr) = await Cli.RunAsync("models", "inspect", path);

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains("invalid ONNX file", stderr, StringComparison.Ordinal);
        Assert.Empty(stdout);
    }
}
