using MobileNet.Orleans.Client.Commands;
using MobileNet.Orleans.Client.Jobs;
using MobileNet.Orleans.Client.Terminal;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Models;
using Spectre.Console.Testing;

namespace MobileNet.Orleans.Client.Tests.Terminal;

public sealed class OutputTablesTests
{
    private static readonly char[] BoxCharacters = ['│', '─', '╭', '╰', '┌', '|', '+'];

    [Fact]
    public void JobsTable_NotATerminal_HeaderThenOneAlignedPlainLinePerJob()
    {
        var writer = new StringWriter();
        var console = CliConsole.For(writer);
        var failedReason = "job failed: " + new string('x', 300);
        var rows = new (string, JobStatus?, string?)[]
        {
            ("job-20261126-100000-3fa9c1", TestStatuses.Running(), null),
            ("job-20261126-090000-000001", null, "the coordinator's silo is gone: " + failedReason),
        };

        console.Write(JobStatusFormatter.ToJobsTable(rows, console));

        var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        Assert.False(console.IsInteractive);
        Assert.Equal(3, lines.Count);
        // Spectre pads rows to the table's width; piped output must not carry that padding.
        Assert.All(lines, l => Assert.False(l.EndsWith(' '), $"trailing spaces in '{l}'"));
        Assert.Matches(@"^JOB +STATE +PROGRESS +ERRORS +IMG/S +SUBMITTED \(UTC\) +MODEL$", lines[0]);
        Assert.Matches(@"^job-20261126-100000-3fa9c1 +Running +42/100 \(42%\) +2 +12\.5 +2026-11-26 10:00:00 +mobilenet-v2$", lines[1]);
        // A long reason stays on its one line: nothing wraps where no terminal limits the width.
        Assert.Matches(@"^job-20261126-090000-000001 +\? +the coordinator's silo is gone: job failed: x{300}$", lines[2]);
        // Columns line up: every row's STATE starts where the header's does.
        Assert.Equal(lines[0].IndexOf("STATE", StringComparison.Ordinal), lines[1].IndexOf("Running", StringComparison.Ordinal));
        Assert.DoesNotContain('\u001b', writer.ToString());
        Assert.DoesNotContain(writer.ToString(), c => BoxCharacters.Contains(c));
    }

    [Fact]
    public void JobsTable_Terminal_BorderedTableWithEveryColumn()
    {
        var test = new TestConsole().Width(160);
        var console = new CliConsole(test, interactive: true);

        console.Write(JobStatusFormatter.ToJobsTable([("job-20261126-100000-3fa9c1", TestStatuses.Ended(JobState.Completed), null)], console));

        var output = test.Output;
        Assert.Contains('╭', output);
        foreach (var header in new[] { "JOB", "STATE", "PROGRESS", "ERRORS", "IMG/S", "SUBMITTED (UTC)", "MODEL" })
        {
            Assert.Contains(header, output, StringComparison.Ordinal);
        }

        var row = Assert.Single(test.Lines, l => l.Contains("job-20261126-100000-3fa9c1", StringComparison.Ordinal));
        Assert.Contains("Completed", row, StringComparison.Ordinal);
        Assert.Contains("100/100 (100%)", row, StringComparison.Ordinal);
    }

    [Fact]
    public void StatusTable_NotATerminal_OneLabelAndValuePerLineWithFailedShards()
    {
        var writer = new StringWriter();
        var console = CliConsole.For(writer);
        var status = TestStatuses.Ended(JobState.Failed, "more than 10% of the images could not be labeled (error threshold)") with
        {
            ShardsFailed = 1,
            FailedShards = [new ShardFailure { ShardId = 7, Attempts = 3, Images = 10, Reason = "model-hash-mismatch: SHA-256 differs" }],
        };

        console.Write(JobStatusFormatter.ToTable(status, console));

        var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd()).ToList();
        Assert.Equal("job        job-20261126-100000-3fa9c1", lines[0]);
        Assert.Equal("state      Failed", lines[1]);
        Assert.Contains("images     100 of 100 done: 98 labeled, 2 errors", lines);
        Assert.Contains("silos      silo-a 61% (61), silo-b 39% (39)", lines);
        Assert.Contains("ended      2026-11-26 10:00:09 UTC (took 8.0 s)", lines);
        Assert.Contains("failure    more than 10% of the images could not be labeled (error threshold)", lines);
        Assert.Equal("shard 7    failed after 3 attempt(s), 10 images: model-hash-mismatch: SHA-256 differs", lines[^1]);
    }

    [Fact]
    public void ModelsTable_NotATerminal_PlainColumns()
    {
        var writer = new StringWriter();
        var console = CliConsole.For(writer);
        var manifest = new ModelManifest
        {
            Name = "mobilenet-v2",
            SizeBytes = 3_500_000,
            Sha256 = new string('a', 64),
            LabelsSha256 = new string('b', 64),
            UploadedAt = TestStatuses.Submitted,
        };

        console.Write(ModelsListCommand.ToTable([manifest], console));

        var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd()).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Matches(@"^NAME +SIZE +SHA256 +LABELS +UPLOADED \(UTC\)$", lines[0]);
        Assert.Matches(@"^mobilenet-v2 +3500000 +a{16} +yes +2026-11-26 10:00:00$", lines[1]);
    }

    [Fact]
    public void ToJson_Status_SameBytesAsBeforeThenOnlyAddedFields()
    {
        // The --json shape is a contract for scripts: every field the CLI printed before its terminal output moved to
        // Spectre.Console is unchanged, byte for byte and in order; later fields (efficiency, error classes) only follow.
        var json = JobStatusFormatter.ToJson(TestStatuses.Ended(JobState.Completed));

        Assert.StartsWith(
            """{"jobId":"job-20261126-100000-3fa9c1","state":"Completed","totalImages":100,"labeled":98,"errors":2,"shardsTotal":10,"shardsDone":10,"shardsRunning":0,"shardsPending":0,"shardsFailed":0,"imagesPerSecond":12.5,"etaSeconds":5,"silos":[{"silo":"silo-a","labeled":60,"errors":1},{"silo":"silo-b","labeled":38,"errors":1}],"submittedAt":"2026-11-26T10:00:00+00:00","startedAt":"2026-11-26T10:00:01+00:00","endedAt":"2026-11-26T10:00:09+00:00","failureReason":null,"listingComplete":true,"shardsRedispatched":0,"model":"mobilenet-v2","source":"photos/set1/","output":"mobilenet-results","topK":5,"shardSize":10,""",
            json,
            StringComparison.Ordinal);
        using var parsed = System.Text.Json.JsonDocument.Parse(json);
        Assert.Equal(System.Text.Json.JsonValueKind.Object, parsed.RootElement.GetProperty("efficiency").ValueKind);
    }
}
