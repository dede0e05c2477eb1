using Azure.Storage.Blobs;
using MobileNet.Inference;
using MobileNet.Orleans.Grains.Workers;

namespace MobileNet.Orleans.Grains.Tests;

public sealed class BlobImageSourcesTests
{
    [Theory]
    [InlineData("../secrets/key.jpg")]
    [InlineData("photos/../../other-container/x.jpg")]
    [InlineData("a\\b.jpg")]
    public async Task OpenAsync_NameWithPathSegments_ErrorRowWithoutAnyRequest(string name)
    {
        // Nothing listens here: the name must be refused before any request is made.
        var container = new BlobContainerClient(new Uri("http://127.0.0.1:9/devstoreaccount1/photos"));
        var source = BlobImageSources.Create(container, name, maxBytes: 1024);

        var error = await Assert.ThrowsAsync<ImageLoadException>(async () => await source.OpenAsync(CancellationToken.None));

        Assert.Equal(name, source.Name);
        Assert.Equal(ImageErrorCodes.ReadFailed, error.Error.Code);
        Assert.Contains("'..'", error.Error.Reason, StringComparison.Ordinal);
    }
}
