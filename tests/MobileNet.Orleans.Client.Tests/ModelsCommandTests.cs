using MobileNet.Orleans.Client.Commands;
using MobileNet.Orleans.Contracts.Models;

namespace MobileNet.Orleans.Client.Tests;

public sealed class ModelsCommandTests
{
    [SkippableFact]
    public async Task ModelsUpload_ThenList_ShowsManifestWithSha256AndWritesLayout()
    {
        var storage = TestStorage.RequireConnectionString();
        var service = TestStorage.CreateService();
        using var dir = new TempDirectory();
        var model = dir.File("m.onnx", [1, 2, 3, 4]);
        dir.File("labels.txt", "cat\ndog"u8.ToArray());
        dir.File("m.onnx.json", """{ "inputName": "input" }"""u8.ToArray());
        var name = "t" + Guid.NewGuid().ToString("N")[..10];

        var (code, stdout, stderr) = await Cli.RunAsync("models", "upload", name, "--file", model, "--storage", storage);
        var list = await ModelsListCommand.ListAsync(service, CancellationToken.None);

        Assert.True(code == ExitCodes.Success, stderr);
        Assert.Contains("9f64a747e1b97f131fabb6b447296c9b6f0201e79fb3c5356e6c77e89b6a806a", stdout, StringComparison.Ordinal);
        var manifest = Assert.Single(list, m => m.Name == name);
        Assert.Equal(("9f64a747e1b97f131fabb6b447296c9b6f0201e79fb3c5356e6c77e89b6a806a", 4L), (manifest.Sha256, manifest.SizeBytes));
        Assert.NotNull(manifest.LabelsSha256);
        Assert.NotNull(manifest.DescriptionSha256);
        var container = service.GetBlobContainerClient(ModelStoreLayout.Container);
        Assert.True(await container.GetBlobClient(ModelStoreLayout.ModelBlob(name)).ExistsAsync());
        Assert.Equal("cat\ndog", (await container.GetBlobClient(ModelStoreLayout.LabelsBlob(name)).DownloadContentAsync()).Value.Content.ToString());
        Assert.True(await container.GetBlobClient(ModelStoreLayout.DescriptionBlob(name)).ExistsAsync());
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
