using Microsoft.Extensions.Time.Testing;
using MobileNet.Orleans.Client.Jobs;
using MobileNet.Orleans.Contracts.Jobs;
using Spectre.Console.Testing;

namespace MobileNet.Orleans.Client.Tests.Terminal;

public sealed class JobWatchViewTests
{
    [Fact]
    public async Task Live_RunningThenCompleted_TableWithJobRowAndOneRowPerSilo()
    {
        var test = new TestConsole().Width(140).Interactive();
        var view = new JobWatchView.Live(test);

        var final = await view.RunAsync(async () =>
        {
            await view.ShowAsync(TestStatuses.Running(40, 2, ("silo-a", 30, 1), ("silo-b", 12, 1)));
            var done = TestStatuses.Ended(JobState.Completed);
            await view.ShowAsync(done);
            return done;
        });

        Assert.Equal(JobState.Completed, final.State);
        // What was drawn last stays on screen: the finished job with each silo's share.
        var lines = test.Lines;
        Assert.Contains(lines, l => l.Contains("job job-20261126-100000-3fa9c1", StringComparison.Ordinal) && l.Contains("Completed", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("all", StringComparison.Ordinal) && l.Contains("100/100", StringComparison.Ordinal) && l.Contains("100.0%", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("silo-a", StringComparison.Ordinal) && l.Contains("61 (61%)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("silo-b", StringComparison.Ordinal) && l.Contains("39 (39%)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("shards: 10 done, 0 running, 0 pending, 0 failed of 10", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Live_ClusterNotAnsweringThenBack_NoteShownThenCleared()
    {
        var test = new TestConsole().Width(140).Interactive();
        var view = new JobWatchView.Live(test);
        string? during = null;

        await view.RunAsync(async () =>
        {
            await view.ShowAsync(TestStatuses.Running(40, 2, ("silo-a", 42, 2)));
            await view.TroubleAsync("cluster not answering: gateway gone; retrying for up to 120 s");
            during = test.Output;
            await view.RecoveredAsync();
            var done = TestStatuses.Ended(JobState.Completed);
            await view.ShowAsync(done);
            return done;
        });

        Assert.Contains("cluster not answering: gateway gone; retrying for up to 120 s", during, StringComparison.Ordinal);
        var afterLastDraw = test.Output[(test.Output.LastIndexOf("Completed", StringComparison.Ordinal))..];
        Assert.DoesNotContain("cluster not answering", afterLastDraw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Live_ManySilos_RowsCappedWithASummaryRow()
    {
        var test = new TestConsole().Width(140).Height(60).Interactive();
        var view = new JobWatchView.Live(test);
        var silos = Enumerable.Range(1, JobWatchView.Live.MaxSiloRows + 3).Select(i => ($"silo-{i:00}", (long)i, 0L)).ToArray();

        await view.RunAsync(async () =>
        {
            var status = TestStatuses.Running(40, 0, silos) with { State = JobState.Completed };
            await view.ShowAsync(status);
            return status;
        });

        Assert.Contains(test.Lines, l => l.Contains("+3 more", StringComparison.Ordinal) && l.Contains('6'));
        Assert.DoesNotContain(test.Lines, l => l.Contains("silo-01", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Lines_UpdatesInQuickSuccession_OneLineWhenSomethingMovedAtMostEveryTwoSecondsAndAlwaysTheLast()
    {
        var writer = new StringWriter();
        var time = new FakeTimeProvider(TestStatuses.Submitted);
        var view = new JobWatchView.Lines(writer, time);

        await view.ShowAsync(TestStatuses.Running(10, 0));
        await view.ShowAsync(TestStatuses.Running(20, 0)); // moved, but too soon
        time.Advance(JobWatchView.Lines.MinLineInterval);
        await view.ShowAsync(TestStatuses.Running(20, 0)); // printed: moved since the last line
        time.Advance(JobWatchView.Lines.MinLineInterval);
        await view.ShowAsync(TestStatuses.Running(20, 0)); // nothing moved
        await view.TroubleAsync("cluster not answering: x");
        await view.RecoveredAsync();
        await view.ShowAsync(TestStatuses.Ended(JobState.Completed)); // the last one, at once

        var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain('\r', writer.ToString());
        Assert.Equal(5, lines.Length);
        Assert.Equal(JobStatusFormatter.ProgressLine(TestStatuses.Running(10, 0)), lines[0]);
        Assert.Equal(JobStatusFormatter.ProgressLine(TestStatuses.Running(20, 0)), lines[1]);
        Assert.Equal("  (cluster not answering: x)", lines[2]);
        Assert.Equal("  (reconnected)", lines[3]);
        Assert.EndsWith("| Completed", lines[4], StringComparison.Ordinal);
    }

    [Fact]
    public void For_WriterThatIsNotTheTerminal_PlainLines()
    {
        Assert.IsType<JobWatchView.Lines>(JobWatchView.For(new StringWriter()));
    }
}
