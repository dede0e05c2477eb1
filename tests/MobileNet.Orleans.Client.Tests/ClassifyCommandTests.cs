using MobileNet.Inference;
using MobileNet.Orleans.Client.Local;

namespace MobileNet.Orleans.Client.Tests;

public sealed class ClassifyCommandTests : IDisposable
{
    private readonly TempDirectory dir = new();
    private readonly string model;

    public ClassifyCommandTests()
    {
        model = TinyOnnxModel.Write(System.IO.Path.Combine(dir.Path, "model"));
        dir.File("photos/b/green.PNG", TestImages.SolidPng(0, 255, 0));
        dir.File("photos/a-red.jpg", TestImages.SolidJpeg(255, 0, 0));
        dir.File("photos/b/notes.txt", "not an image"u8.ToArray());
        dir.File("photos/b/broken.jpeg", "not a jpeg either"u8.ToArray());
        dir.File("photos/c/deep/blue.webp.png", TestImages.SolidPng(0, 0, 255));
    }

    [Fact]
    public async Task Classify_Folder_CsvRowsInSortedPathOrderIncludingErrors()
    {
        var photos = System.IO.Path.Combine(dir.Path, "photos");
        var (code, stdout, stderr) = await Cli.RunAsync("classify", photos, "--model", model, "--top-k", "2");

        Assert.True(code == ExitCodes.Success, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(LabelingRecordFormat.CsvHeader(2), lines[0]);
        var output = dir.File("results.csv");
        await File.WriteAllTextAsync(output, stdout);
        Assert.Equal(
            [
                ($"{photos}/a-red.jpg", "red"),
                ($"{photos}/b/broken.jpeg", null),
                ($"{photos}/b/green.PNG", "green"),
                ($"{photos}/c/deep/blue.webp.png", "blue"),
            ],
            ResultsCsv.Read(output).Select(r => (r.Image, r.Label1)));
        // Every row names the model it came from (the file's SHA-256), error rows too.
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(model)));
        Assert.EndsWith(",\"unsupported-format: not a supported image (JPEG, PNG, BMP, GIF, TIFF, WebP)\"," + sha, lines[2], StringComparison.Ordinal);
        Assert.All(lines.Skip(1), l => Assert.EndsWith("," + sha, l, StringComparison.Ordinal));
        Assert.Contains("labeled 4 images (3 ok, 1 errors)", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Classify_JsonlToFile_WritesParsableRecordsAndNothingOnStdout()
    {
        var output = System.IO.Path.Combine(dir.Path, "out.jsonl");
        var notes = dir.File("photos/b/notes.txt", "named explicitly, so it is tried"u8.ToArray());
        var (code, stdout, stderr) = await Cli.RunAsync(
            "classify", System.IO.Path.Combine(dir.Path, "photos/a-red.jpg"), notes, "--model", model, "--format", "jsonl", "-o", output, "-k", "1");

        Assert.True(code == ExitCodes.Success, stderr);
        Assert.Equal(string.Empty, stdout);
        var records = File.ReadAllLines(output).Select(LabelingRecordFormat.ParseJsonLine).ToList();
        Assert.Equal(["red"], records[0].Labels.Select(l => l.Label));
        Assert.StartsWith("unsupported-format: ", records[1].Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public async Task Classify_MissingModel_ExitsTwo()
    {
        var (code, _, stderr) = await Cli.RunAsync("classify", dir.Path, "--model", System.IO.Path.Combine(dir.Path, "absent.onnx"));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("--model: no such file", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("4")]
    public async Task Classify_TopKOutOfRange_ExitsTwo(string topK)
    {
        var (code, _, stderr) = await Cli.RunAsync("classify", dir.Path, "--model", model, "--top-k", topK);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("--top-k", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Classify_MissingPath_ExitsTwo()
    {
        var missing = System.IO.Path.Combine(dir.Path, "nowhere");
        var (code, stdout, stderr) = await Cli.RunAsync("classify", missing, "--model", model);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Contains($"no such file or folder: {missing}", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Classify_UnreadableLabels_ExitsTwo()
    {
        var labels = dir.File("two.txt", "a\nb\n"u8.ToArray());
        var (code, _, stderr) = await Cli.RunAsync("classify", dir.Path, "--model", model, "--labels", labels);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("2 lines but the model has 3 classes", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Classify_BadFormat_ExitsTwo()
    {
        var (code, _, _) = await Cli.RunAsync("classify", dir.Path, "--model", model, "--format", "xml");
        Assert.Equal(ExitCodes.BadInput, code);
    }

    [Fact]
    public void Collect_FilesAndFolders_SortedDistinctByExtension()
    {
        var photos = System.IO.Path.Combine(dir.Path, "photos");
        var red = System.IO.Path.Combine(photos, "a-red.jpg");
        var found = ImageFileCollector.Collect([photos, red]);
        Assert.Equal(4, found.Count);
        Assert.Equal(found.Order(StringComparer.Ordinal), found);
    }

    public void Dispose() => dir.Dispose();
}
