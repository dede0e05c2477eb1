using System.Globalization;
using MobileNet.Orleans.Client.Results;

namespace MobileNet.Orleans.Client.Tests;

public sealed class ResultMergerTests
{
    private static string Line(string image, string? error = null) => error is null
        ? $$"""{"image":"{{image}}","labels":[{"index":1,"label":"goldfish","score":0.5}],"error":null}"""
        : $$"""{"image":"{{image}}","labels":[],"error":"{{error}}"}""";

    /// <summary>Shards of images in shuffled order (a manifest job), every 5th an error row.</summary>
    private static List<List<string>> GenerateShards(int images, int shardSize, int seed, out List<string> expectedOrder)
    {
        var random = new Random(seed);
        var names = Enumerable.Range(0, images).Select(i => string.Create(CultureInfo.InvariantCulture, $"img/{random.Next():x8}-{i}.jpg")).ToList();
        expectedOrder = [.. names.Order(StringComparer.Ordinal)];
        var shuffled = names.OrderBy(_ => random.Next()).ToList();
        return shuffled.Chunk(shardSize).Select(c => c.Select((n, i) => i % 5 == 0 ? Line(n, "decode: truncated") : Line(n)).ToList()).ToList();
    }

    private static async IAsyncEnumerable<string> Flatten(List<List<string>> shards)
    {
        foreach (var shard in shards)
        {
            foreach (var line in shard)
            {
                await Task.Yield();
                yield return line;
            }
        }
    }

    [Theory]
    [InlineData(1_000_000)] // all in memory
    [InlineData(37)] // spilled to 55 runs, one merge
    [InlineData(7)] // spilled to 290+ runs: merged in groups first
    public async Task MergeAsync_ShuffledShards_WritesEveryRowSortedByImage(int maxBufferedLines)
    {
        var shards = GenerateShards(images: 2000, shardSize: 64, seed: 42, out var expected);
        var output = new List<string>();
        using var temp = new TempDirectory();
        var merger = new ResultMerger { MaxBufferedLines = maxBufferedLines, TempDirectory = temp.Path };

        var summary = await merger.MergeAsync(Flatten(shards), (line, _) => { output.Add(line); return ValueTask.CompletedTask; }, CancellationToken.None);

        Assert.Equal(expected, output.Select(l => RecordKey.Of(l).Image));
        Assert.Equal(shards.Sum(s => s.Count(l => RecordKey.Of(l).IsError)), output.Count(l => RecordKey.Of(l).IsError));
        Assert.Equal(2000, summary.Written);
        Assert.Equal(maxBufferedLines < 1000, summary.Runs > 0);
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    [Theory]
    [InlineData(1_000_000)]
    [InlineData(7)]
    public async Task MergeAsync_ImageInTwoShards_ThrowsNamingTheImage(int maxBufferedLines)
    {
        var shards = GenerateShards(images: 500, shardSize: 64, seed: 7, out var names);
        shards[^1].Add(Line(names[123], "decode: stale"));
        using var temp = new TempDirectory();
        var merger = new ResultMerger { MaxBufferedLines = maxBufferedLines, TempDirectory = temp.Path };

        var ex = await Assert.ThrowsAsync<DuplicateResultException>(() => merger.MergeAsync(Flatten(shards), (_, _) => ValueTask.CompletedTask, CancellationToken.None));

        Assert.Contains(names[123], ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public async Task MergeAsync_OnlyErrorRowForAnImage_KeepsIt()
    {
        var lines = new List<List<string>> { new() { Line("b.jpg"), Line("a.jpg", "decode: truncated") } };
        var output = new List<string>();

        await new ResultMerger().MergeAsync(Flatten(lines), (line, _) => { output.Add(line); return ValueTask.CompletedTask; }, CancellationToken.None);

        Assert.Equal([Line("a.jpg", "decode: truncated"), Line("b.jpg")], output);
    }

    [Fact]
    public async Task MergeAsync_MalformedLine_ThrowsFormatException()
    {
        var lines = new List<List<string>> { new() { Line("a.jpg"), "{\"labels\":[]}" } };

        await Assert.ThrowsAsync<FormatException>(() => new ResultMerger().MergeAsync(Flatten(lines), (_, _) => ValueTask.CompletedTask, CancellationToken.None));
    }

    [Fact]
    public void RecordKey_NestedImageMember_IsNotTakenForTheTopLevelOne()
    {
        var key = RecordKey.Of("""{"labels":[{"image":"inner","index":1}],"image":"outer.jpg","error":"x"}""");

        Assert.Equal(new RecordKey("outer.jpg", true), key);
    }
}
