using Azure.Storage.Blobs.Models;
using MobileNet.Orleans.Client.Commands;
using MobileNet.Orleans.Contracts.Storage;

namespace MobileNet.Orleans.Client.Tests;

public sealed class UploadCommandTests
{
    [SkippableFact]
    public async Task UploadAsync_SecondRun_SkipsUnchangedBlobsAndReuploadsChangedOnes()
    {
        var service = TestStorage.CreateService();
        var container = TestStorage.UniqueContainer("upload");
        using var dir = new TempDirectory();
        dir.File("a.jpg", [1, 2, 3]);
        dir.File("sub/b.png", [4, 5, 6, 7]);
        dir.File("notes.txt", [8]);
        var destination = new BlobPath { Container = container, Prefix = "set1" };

        var first = await UploadCommand.UploadAsync(service, new DirectoryInfo(dir.Path), destination, new UploadCommand.UploadOptions(), TextWriter.Null, CancellationToken.None);
        dir.File("a.jpg", [1, 2, 3, 4, 5]);
        var second = await UploadCommand.UploadAsync(service, new DirectoryInfo(dir.Path), destination, new UploadCommand.UploadOptions(), TextWriter.Null, CancellationToken.None);

        Assert.Equal((2, 0, 1), (first.Uploaded, first.Skipped, first.Ignored));
        Assert.Equal((1, 1, 0), (second.Uploaded, second.Skipped, second.Failed));
        var blobs = new Dictionary<string, long?>();
        await foreach (var blob in service.GetBlobContainerClient(container).GetBlobsAsync(new GetBlobsOptions()))
        {
            blobs[blob.Name] = blob.Properties.ContentLength;
        }

        Assert.Equal(new Dictionary<string, long?> { ["set1/a.jpg"] = 5, ["set1/sub/b.png"] = 4 }, blobs);
    }

    [SkippableFact]
    public async Task UploadAsync_FileChangedToSameLength_SendsTheNewBytes()
    {
        var service = TestStorage.CreateService();
        var container = TestStorage.UniqueContainer("upsame");
        using var dir = new TempDirectory();
        dir.File("photo.jpg", [1, 2, 3, 4]);
        dir.File("same.jpg", [5, 6]);
        var destination = new BlobPath { Container = container, Prefix = "set" };
        await UploadCommand.UploadAsync(service, new DirectoryInfo(dir.Path), destination, new UploadCommand.UploadOptions(), TextWriter.Null, CancellationToken.None);

        // Edited in place: same byte count, other bytes.
        dir.File("photo.jpg", [9, 8, 7, 6]);
        var second = await UploadCommand.UploadAsync(service, new DirectoryInfo(dir.Path), destination, new UploadCommand.UploadOptions(), TextWriter.Null, CancellationToken.None);
        var third = await UploadCommand.UploadAsync(service, new DirectoryInfo(dir.Path), destination, new UploadCommand.UploadOptions(), TextWriter.Null, CancellationToken.None);

        Assert.Equal((1, 1), (second.Uploaded, second.Skipped));
        Assert.Equal(new byte[] { 9, 8, 7, 6 }, (await service.GetBlobContainerClient(container).GetBlobClient("set/photo.jpg").DownloadContentAsync()).Value.Content.ToArray());
        // Unchanged files are still recognised by content: nothing is sent again.
        Assert.Equal((0, 2), (third.Uploaded, third.Skipped));
    }

    [SkippableFact]
    public async Task UploadAsync_SameLengthBlobWrittenByAnotherTool_UploadedAgain()
    {
        var service = TestStorage.CreateService();
        var container = service.GetBlobContainerClient(TestStorage.UniqueContainer("upnomd5"));
        await container.CreateAsync();
        using var dir = new TempDirectory();
        dir.File("a.jpg", [1, 2, 3]);
        // Same length, other bytes, written by another tool (whether or not it stored a Content-MD5): the file is sent.
        await container.GetBlobClient("p/a.jpg").UploadAsync(BinaryData.FromBytes([7, 7, 7]));

        var summary = await UploadCommand.UploadAsync(service, new DirectoryInfo(dir.Path), new BlobPath { Container = container.Name, Prefix = "p" }, new UploadCommand.UploadOptions(), TextWriter.Null, CancellationToken.None);

        Assert.Equal((1, 0), (summary.Uploaded, summary.Skipped));
        Assert.Equal(new byte[] { 1, 2, 3 }, (await container.GetBlobClient("p/a.jpg").DownloadContentAsync()).Value.Content.ToArray());
    }

    [SkippableFact]
    public async Task Upload_Cli_PrintsSummaryAndExitsZero()
    {
        var storage = TestStorage.RequireConnectionString();
        var container = TestStorage.UniqueContainer("upcli");
        using var dir = new TempDirectory();
        dir.File("x.jpeg", [9, 9]);

        var (code, stdout, stderr) = await Cli.RunAsync("upload", dir.Path, "--to", container + "/p/", "--storage", storage);

        Assert.True(code == ExitCodes.Success, stderr);
        Assert.StartsWith("uploaded 1 file(s)", stdout, StringComparison.Ordinal);
        Assert.Contains($"-> {container}/p ", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("AccountKey", stdout + stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upload_MissingFolder_ExitsTwoWithOneLine()
    {
        var (code, _, stderr) = await Cli.RunAsync("upload", "/definitely/not/here", "--to", "photos/x");

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.Contains("does not exist", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upload_BadContainerName_ExitsTwo()
    {
        using var dir = new TempDirectory();
        dir.File("a.jpg", [1]);

        var (code, _, stderr) = await Cli.RunAsync("upload", dir.Path, "--to", "Bad_Name/x");

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("container name 'Bad_Name'", stderr, StringComparison.Ordinal);
    }
}
