using MobileNet.Orleans.Contracts.Labels;
using MobileNet.Orleans.Contracts.Ledger;
using MobileNet.Orleans.Grains.Ledger;

namespace MobileNet.Orleans.Grains.Tests.LabelLedger;

public sealed class LedgerRulesTests
{
    private static async IAsyncEnumerable<LedgerEntry> Of(params LedgerEntry[] entries)
    {
        foreach (var entry in entries)
        {
            await Task.Yield();
            yield return entry;
        }
    }

    private static async Task<List<LedgerEntry>> MergeAsync(LedgerEntry[] ledger, LedgerEntry[] job)
    {
        var merged = new List<LedgerEntry>();
        await foreach (var entry in LedgerMerge.MergeAsync(Of(ledger), Of(job)))
        {
            merged.Add(entry);
        }

        return merged;
    }

    [Fact]
    public async Task Merge_NewAndChangedBlobs_PointAtTheJobOthersStay()
    {
        var merged = await MergeAsync(
            [new("a", "1", "job-1"), new("c", "1", "job-1"), new("e", "1", "job-1")],
            [new("b", "1", "job-2"), new("c", "2", "job-2")]);
        Assert.Equal([new("a", "1", "job-1"), new("b", "1", "job-2"), new("c", "2", "job-2"), new("e", "1", "job-1")], merged);
    }

    [Fact]
    public async Task Merge_EntryWithoutETag_KeepsTheRecordedOne()
    {
        var merged = await MergeAsync([new("a", "7", "job-1")], [new("a", null, "job-3")]);
        Assert.Equal([new LedgerEntry("a", "7", "job-3")], merged);
    }

    [Fact]
    public async Task Merge_JobNamesOutOfOrder_Throws()
    {
        await Assert.ThrowsAsync<InvalidDataException>(() => MergeAsync([], [new("b", "1", "job-2"), new("a", "1", "job-2")]));
    }

    [Fact]
    public async Task Lookup_SameNameAndETag_IsLabeledOtherwiseNot()
    {
        var segments = new Dictionary<string, IReadOnlyList<LedgerEntry>>
        {
            ["s0"] = [new("a", "1", "j"), new("b", "1", "j")],
            ["s1"] = [new("m", "1", "j"), new("n", "2", "j")],
        };
        var snapshot = new LedgerSnapshot
        {
            Source = new() { Container = "cams", Prefix = "gate/" },
            ModelSha256 = new string('0', 64),
            Version = 1,
            Jobs = [],
            Segments = [new() { Blob = "s0", FirstName = "a", Count = 2 }, new() { Blob = "s1", FirstName = "m", Count = 2 }],
        };
        var reads = 0;
        var lookup = new LedgerLookup(snapshot, (blob, _) => { reads++; return Task.FromResult(segments[blob]); });
        Assert.True(await lookup.IsLabeledAsync("a", "1", default));
        Assert.False(await lookup.IsLabeledAsync("b", "2", default));
        Assert.False(await lookup.IsLabeledAsync("c", "1", default));
        Assert.True(await lookup.IsLabeledAsync("n", "2", default));
        Assert.False(await lookup.IsLabeledAsync("z", "1", default));
        Assert.Equal(2, reads);
    }

    [Theory]
    [InlineData("tabby", "tabby")]
    [InlineData("Arctic fox", "arctic fox")]
    [InlineData("jack-o'-lantern", "jack-o_-lantern")]
    [InlineData("tabby, tabby cat", "tabby_ tabby cat")]
    public void TagValue_Label_MapsToTheTagCharacterSet(string label, string expected) => Assert.Equal(expected, BlobLabelTags.Value(label));

    [Theory]
    [InlineData(0.8f, "0.80")]
    [InlineData(0.8049f, "0.80")]
    [InlineData(1f, "1.00")]
    [InlineData(float.NaN, "0.00")]
    public void ScoreBucket_Score_FloorsToHundredths(float score, string expected) => Assert.Equal(expected, BlobLabelTags.ScoreBucket(score));

    [Fact]
    public void ReviewRule_LowScoreOrSmallMargin_NeedsReviewErrorRowsNever()
    {
        var rule = new ReviewRule(0.5f, 0.1f);
        Assert.True(rule.Needs([0.4f, 0.1f]));
        Assert.True(rule.Needs([0.6f, 0.55f]));
        Assert.False(rule.Needs([0.6f, 0.3f]));
        Assert.False(rule.Needs([]));
    }

    [Fact]
    public void LedgerKey_FolderFormsOfOnePrefix_AreOneLedger()
    {
        var sha = new string('a', 64);
        Assert.Equal(LabelLedgerKey.Of(new() { Container = "c", Prefix = "p" }, sha), LabelLedgerKey.Of(new() { Container = "c", Prefix = "p/" }, sha));
        Assert.NotEqual(LabelLedgerKey.Of(new() { Container = "c", Prefix = "p" }, sha), LabelLedgerKey.Of(new() { Container = "c", Prefix = "p" }, new string('b', 64)));
    }
}
