using System.Globalization;
using Azure.Storage.Blobs;
using MobileNet.Orleans.Grains.Jobs;

namespace MobileNet.Orleans.Grains.Tests;

/// <summary>Container listing against Azurite: whole pages per call, shard-sized batches, exact resume mid-page.</summary>
public sealed class SourceCursorTests
{
    private const int Blobs = 230;

    [SkippableTheory]
    [InlineData(64, 100)]
    [InlineData(7, 50)]
    [InlineData(100, 5000)]
    public async Task ReadAsync_ResumedFromEveryCheckpoint_EachNameOnceInOrder(int batch, int pageSize)
    {
        var container = await ContainerWithBlobsAsync();
        var expected = Enumerable.Range(0, Blobs).Select(Name).Order(StringComparer.Ordinal).ToList();

        // Read batch by batch; after each batch, a fresh cursor opened from the checkpoint must yield exactly the rest.
        var taken = new List<string>();
        var cursor = new ContainerListingCursor(container, "set/", null, pageSize);
        while (true)
        {
            var read = await cursor.ReadAsync(batch, CancellationToken.None);
            Assert.True(read.Names.Count <= batch);
            taken.AddRange(read.Names);
            if (read.End)
            {
                Assert.Null(cursor.Checkpoint);
                break;
            }

            var rest = await ReadAllAsync(new ContainerListingCursor(container, "set/", cursor.Checkpoint, pageSize), batch);
            Assert.Equal(expected, [.. taken, .. rest]);
        }

        Assert.Equal(expected, taken);
    }

    [SkippableFact]
    public async Task ReadAsync_LastTakenNameDeletedBeforeResume_ResumesAfterIt()
    {
        var container = await ContainerWithBlobsAsync();
        var cursor = new ContainerListingCursor(container, "set/", null, pageSize: 100);
        var first = await cursor.ReadAsync(40, CancellationToken.None);
        await container.DeleteBlobAsync(first.Names[^1]);

        var rest = await ReadAllAsync(new ContainerListingCursor(container, "set/", cursor.Checkpoint, 100), 40);

        Assert.Equal(Blobs - 40, rest.Count);
        Assert.DoesNotContain(rest, first.Names.Contains);
    }

    [Fact]
    public void Parse_FormattedOrBareToken_GivesTokenAndLastName()
    {
        // A bare token is what an earlier version stored.
        Assert.Equal(("2!88!MDAwMDIx", null), ListingCheckpoint.Parse("2!88!MDAwMDIx"));
        Assert.Equal(("t", "a\nb"), ListingCheckpoint.Parse(ListingCheckpoint.Format("t", "a\nb")));
        Assert.Equal((null, "first"), ListingCheckpoint.Parse(ListingCheckpoint.Format(null, "first")));
        Assert.Null(ListingCheckpoint.Format(null, null));
    }

    private static string Name(int i) => string.Create(CultureInfo.InvariantCulture, $"set/img-{i:D4}.jpg");

    private static async Task<List<string>> ReadAllAsync(SourceCursor cursor, int batch)
    {
        var names = new List<string>();
        while (true)
        {
            var read = await cursor.ReadAsync(batch, CancellationToken.None);
            names.AddRange(read.Names);
            if (read.End)
            {
                return names;
            }
        }
    }

    private static async Task<BlobContainerClient> ContainerWithBlobsAsync()
    {
        var connection = TestStorage.RequireConnectionString();
        var container = new BlobServiceClient(connection).GetBlobContainerClient("cursor-" + Guid.NewGuid().ToString("N")[..12]);
        await container.CreateAsync();
        await Parallel.ForEachAsync(Enumerable.Range(0, Blobs), new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (i, ct) => await container.UploadBlobAsync(Name(i), BinaryData.FromString("x"), ct));
        // A blob beside the prefix must not be listed.
        await container.UploadBlobAsync("other/img-0000.jpg", BinaryData.FromString("x"));
        return container;
    }
}
