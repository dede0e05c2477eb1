using MobileNet.Orleans.Client.Results;
using MobileNet.Orleans.Contracts.Storage;

namespace MobileNet.Orleans.Client.Tests;

public sealed class ShardResultReaderTests
{
    private const string JobId = "job-reader-test";

    private static string Line(string image) => $$"""{"image":"{{image}}","labels":[],"error":null}""";

    [SkippableFact]
    public async Task ReadAsync_ShardBlobsAndStrayBlobs_ReadsExactlyTheShardsInShardOrder()
    {
        var service = TestStorage.CreateService();
        var output = new BlobPath { Container = TestStorage.UniqueContainer("reader"), Prefix = "out" };
        var container = service.GetBlobContainerClient(output.Container);
        await container.CreateAsync();
        // Uploaded in reverse so the storage's order is not what makes the result ordered.
        for (var id = 11; id >= 0; id--)
        {
            var lines = string.Join('\n', Enumerable.Range(0, 3).Select(i => Line($"img-{id:D2}-{i}.jpg")));
            await container.GetBlobClient(JobOutputLayout.ShardResult(output, JobId, id).Prefix).UploadAsync(BinaryData.FromString(lines + "\n"));
        }

        // Neither a blob past the job's shard count nor another name under results/ may leak in.
        var folder = JobOutputLayout.ResultsFolder(output, JobId).Prefix;
        await container.GetBlobClient(JobOutputLayout.ShardResult(output, JobId, 12).Prefix).UploadAsync(BinaryData.FromString(Line("stray-past-end.jpg")));
        await container.GetBlobClient(folder + "extra.jsonl").UploadAsync(BinaryData.FromString(Line("stray-extra.jpg")));
        await container.GetBlobClient(folder + "000003.jsonl.bak").UploadAsync(BinaryData.FromString(Line("stray-bak.jpg")));

        var reader = new ShardResultReader(service, output, JobId) { Prefetch = 3 };
        var read = new List<ShardLine>();
        await foreach (var line in reader.ReadAsync(12, CancellationToken.None))
        {
            read.Add(line);
        }

        Assert.Equal(36, read.Count);
        Assert.Equal(Enumerable.Range(0, 12).SelectMany(id => Enumerable.Repeat(id, 3)), read.Select(l => l.ShardId));
        Assert.DoesNotContain(read, l => l.Line.Contains("stray", StringComparison.Ordinal));
        Assert.Equal(read.Select(l => RecordKey.Of(l.Line).Image).Order(StringComparer.Ordinal), read.Select(l => RecordKey.Of(l.Line).Image));
    }

    [SkippableFact]
    public async Task ReadAsync_ShardBlobMissing_ThrowsUnlessMissingAllowed()
    {
        var service = TestStorage.CreateService();
        var output = new BlobPath { Container = TestStorage.UniqueContainer("reader"), Prefix = "" };
        var container = service.GetBlobContainerClient(output.Container);
        await container.CreateAsync();
        foreach (var id in new[] { 0, 2 })
        {
            await container.GetBlobClient(JobOutputLayout.ShardResult(output, JobId, id).Prefix).UploadAsync(BinaryData.FromString(Line($"img-{id}.jpg")));
        }

        var strict = new ShardResultReader(service, output, JobId);
        var ex = await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await foreach (var _ in strict.ReadAsync(3, CancellationToken.None))
            {
            }
        });
        Assert.Contains("shard 1", ex.Message, StringComparison.Ordinal);

        var lenient = new ShardResultReader(service, output, JobId) { AllowMissing = true };
        var images = new List<string>();
        await foreach (var line in lenient.ReadAsync(3, CancellationToken.None))
        {
            images.Add(RecordKey.Of(line.Line).Image);
        }

        Assert.Equal(["img-0.jpg", "img-2.jpg"], images);
        Assert.Equal(1, lenient.Missing);
    }

    [Fact]
    public async Task CheckAsync_ListingOrder_PassesEveryLineThrough()
    {
        var lines = new[] { new ShardLine(0, Line("a.jpg")), new ShardLine(0, Line("b.jpg")), new ShardLine(1, Line("c.jpg")) };

        var output = await ToListAsync(ListingOrderCheck.CheckAsync(ToAsync(lines), CancellationToken.None));

        Assert.Equal(lines.Select(l => l.Line), output);
    }

    [Fact]
    public async Task CheckAsync_SameImageInTwoShards_ThrowsDuplicate()
    {
        var lines = new[] { new ShardLine(0, Line("a.jpg")), new ShardLine(0, Line("b.jpg")), new ShardLine(1, Line("b.jpg")) };

        var ex = await Assert.ThrowsAsync<DuplicateResultException>(() => ToListAsync(ListingOrderCheck.CheckAsync(ToAsync(lines), CancellationToken.None)));

        Assert.Contains("'b.jpg'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("shards 0 and 1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckAsync_OutOfOrder_ThrowsInvalidData()
    {
        var lines = new[] { new ShardLine(0, Line("b.jpg")), new ShardLine(1, Line("a.jpg")) };

        await Assert.ThrowsAsync<InvalidDataException>(() => ToListAsync(ListingOrderCheck.CheckAsync(ToAsync(lines), CancellationToken.None)));
    }

    [Fact]
    public void CodePointOrder_SupplementaryVersusHighBmp_OrdersByCodePointUnlikeUtf16()
    {
        const string emoji = "\U0001F600";
        const string privateUse = "\uE000";

        Assert.True(string.CompareOrdinal(emoji, privateUse) < 0);
        Assert.True(CodePointOrder.Compare(emoji, privateUse) > 0);
        Assert.Equal(0, CodePointOrder.Compare("abc", "abc"));
        Assert.True(CodePointOrder.Compare("ab", "abc") < 0);
    }

#pragma warning disable CS1998 // In-memory source for an async iterator.
    private static async IAsyncEnumerable<ShardLine> ToAsync(IEnumerable<ShardLine> lines)
#pragma warning restore CS1998
    {
        foreach (var line in lines)
        {
            yield return line;
        }
    }

    private static async Task<List<string>> ToListAsync(IAsyncEnumerable<string> lines)
    {
        var list = new List<string>();
        await foreach (var line in lines)
        {
            list.Add(line);
        }

        return list;
    }
}
