using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using MobileNet.Orleans.Client.Terminal;
using Spectre.Console.Testing;

namespace MobileNet.Orleans.Client.Tests.Terminal;

public sealed class WorkProgressTests
{
    [Fact]
    public async Task Live_AllItemsDone_BarShowsCountAndErrors()
    {
        var test = new TestConsole().Width(160).Interactive();
        var progress = WorkProgress.Live(test, "labeling", "images", 5);

        var result = await progress.RunAsync(() =>
        {
            for (var i = 0; i < 5; i++)
            {
                progress.Advance(itemFailed: i == 3);
            }

            return Task.FromResult(42);
        });

        Assert.Equal(42, result);
        Assert.Equal(5, progress.Done);
        Assert.Equal(1, progress.Failed);
        var last = test.Lines.Last(l => l.Contains("labeling", StringComparison.Ordinal));
        Assert.Contains("5/5 images", last, StringComparison.Ordinal);
        Assert.Contains("100%", last, StringComparison.Ordinal);
        Assert.Contains("(1 errors)", last, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lines_ShortRun_NothingThenOneLinePerInterval()
    {
        var writer = new StringWriter();
        var time = new FakeTimeProvider();
        var interval = TimeSpan.FromSeconds(10);
        var progress = WorkProgress.Lines(writer, interval, p => string.Create(CultureInfo.InvariantCulture, $"progress: {p.Done}/{p.Total}"), 100, time);

        await progress.RunAsync(() =>
        {
            progress.Advance();
            progress.Advance();
            time.Advance(interval);
            progress.Advance();
            progress.Advance();
            time.Advance(interval / 2);
            progress.Advance();
            time.Advance(interval / 2);
            progress.Advance(itemFailed: true);
            return Task.FromResult(0);
        });

        Assert.Equal(["progress: 3/100", "progress: 6/100"], writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void For_WriterThatIsNotTheTerminal_PlainLines()
    {
        var writer = new StringWriter();
        var progress = WorkProgress.For(writer, mayDrawLive: true, "uploading", "files", 3, TimeSpan.Zero, p => $"{p.Done}/{p.Total} files");

        progress.Advance();
        progress.Advance();

        Assert.Equal(["1/3 files", "2/3 files"], writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
