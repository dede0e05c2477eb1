using System.Security.Cryptography;
using MobileNet.Orleans.Client.Commands;
using MobileNet.Orleans.Contracts.Models;

namespace MobileNet.Orleans.Client.Tests;

public sealed class ModelsCommandTests
{
    [SkippableFact]
    public async Task ModelsUpload_ThenList_ShowsManifestWithSha256AndWritesArtifactsByHash()
    {
        var storage = TestStorage.RequireConnectionString();
        var service = TestStorage.CreateService();
        using var dir = new TempDirectory();
        var bytes = TinyOnnxModel.Build(16, dynamicBatch: true, nhwc: false);
        var model = dir.File("m.onnx", bytes);
        dir.File("labels.txt", "cat\ndog\nemu"u8.ToArray());
        dir.File("m.onnx.json", """{ "inputName": "input" }"""u8.ToArray());
        var name = "t" + Guid.NewGuid().ToString("N")[..10];
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));

        var (code, stdout, stderr) = await Cli.RunAsync("models", "upload", name, "--file", model, "--storage", storage);
        var list = await ModelsListCommand.ListAsync(service, CancellationToken.None);

        Assert.True(code == ExitCodes.Success, stderr);
        Assert.Contains(sha, stdout, StringComparison.Ordinal);
        var manifest = Assert.Single(list, m => m.Name == name);
        Assert.Equal((sha, (long)bytes.Length, (int?)3), (manifest.Sha256, manifest.SizeBytes, manifest.ClassCount));
        var container = service.GetBlobContainerClient(ModelStoreLayout.Container);
        Assert.Equal(bytes, (await container.GetBlobClient(ModelStoreLayout.ArtifactBlob(name, sha)).DownloadContentAsync()).Value.Content.ToArray());
        Assert.Equal("cat\ndog\nemu", (await container.GetBlobClient(ModelStoreLayout.ArtifactBlob(name, manifest.LabelsSha256!)).DownloadContentAsync()).Value.Content.ToString());
        Assert.True(await container.GetBlobClient(ModelStoreLayout.ArtifactBlob(name, manifest.DescriptionSha256!)).ExistsAsync());
    }

    [SkippableFact]
    public async Task ModelsUpload_AgainWithOtherLabels_KeepsThePreviousVersionLoadable()
    {
        var service = TestStorage.CreateService();
        using var dir = new TempDirectory();
        var model = new FileInfo(dir.File("model.onnx", TinyOnnxModel.Build(16, dynamicBatch: true, nhwc: false)));
        var name = "t" + Guid.NewGuid().ToString("N")[..10];
        var first = await ModelsUploadCommand.UploadAsync(service, ModelsUploadCommand.ModelUploadRequest.Resolve(name, model, new FileInfo(dir.File("a.txt", "a1\na2\na3"u8.ToArray())), null), TimeProvider.System, CancellationToken.None);

        var second = await ModelsUploadCommand.UploadAsync(service, ModelsUploadCommand.ModelUploadRequest.Resolve(name, model, new FileInfo(dir.File("b.txt", "b1\nb2\nb3"u8.ToArray())), null), TimeProvider.System, CancellationToken.None);

        Assert.Equal(first.Sha256, second.Sha256);
        Assert.NotEqual(first.LabelsSha256, second.LabelsSha256);
        var container = service.GetBlobContainerClient(ModelStoreLayout.Container);
        Assert.Equal("a1\na2\na3", (await container.GetBlobClient(ModelStoreLayout.ArtifactBlob(name, first.LabelsSha256!)).DownloadContentAsync()).Value.Content.ToString());
        Assert.Equal(second, await ModelsUploadCommand.FindAsync(service, name, CancellationToken.None));
    }

    [Theory]
    [InlineData("absolute", "is an absolute path")]
    [InlineData("parent", "leaves the model's folder")]
    public async Task ModelsUpload_DescriptionNamesLabelsOutsideModelFolder_ExitsTwoPrintingNoByteOfIt(string how, string reason)
    {
        using var outside = new TempDirectory();
        var secret = outside.File("secret.txt", "SECRET-LINE-91c2\n"u8.ToArray());
        using var dir = new TempDirectory();
        var model = dir.File("model.onnx", TinyOnnxModel.Build(16, dynamicBatch: true, nhwc: false));
        var named = how == "absolute" ? secret : Path.GetRelativePath(dir.Path, secret);
        var description = dir.File("model.onnx.json", System.Text.Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new { labels = named })));

        var (code, stdout, stderr) = await Cli.RunAsync("models", "upload", "outside", "--file", model, "--description", description);

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains(reason, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET-LINE", stdout + stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelsUpload_NotAnOnnxModel_ExitsTwoBeforeUploading()
    {
        using var dir = new TempDirectory();
        var model = dir.File("m.onnx", [1, 2, 3, 4]);

        var (code, _, stderr) = await Cli.RunAsync("models", "upload", "ok", "--file", model);

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("not a loadable ONNX model", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelsUpload_UppercaseName_ExitsTwo()
    {
        using var dir = new TempDirectory();
        var model = dir.File("m.onnx", [1]);

        var (code, _, stderr) = await Cli.RunAsync("models", "upload", "Bad/Name", "--file", model);

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("model name 'Bad/Name'", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelsUpload_DescriptionNotJson_ExitsTwo()
    {
        using var dir = new TempDirectory();
        var model = dir.File("m.onnx", [1]);
        var description = dir.File("d.json", "{ not json"u8.ToArray());

        var (code, _, stderr) = await Cli.RunAsync("models", "upload", "ok", "--file", model, "--description", description);

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("is not valid JSON", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ModelManifestJson_RoundTrip_IsCamelCase()
    {
        var manifest = new ModelManifest { Name = "m", Sha256 = "ab", SizeBytes = 3, UploadedAt = DateTimeOffset.UnixEpoch };

        var json = ModelManifestJson.Serialize(manifest);

        Assert.Contains("\"sha256\": \"ab\"", json, StringComparison.Ordinal);
        Assert.Equal(manifest, ModelManifestJson.Deserialize(json));
    }
}
