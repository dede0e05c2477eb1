using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace MobileNet.Orleans.Client.Terminal;

/// <summary>
/// Progress of a local run over a known number of items (images labeled, files uploaded), on stderr only (stdout
/// carries results): a live bar on a terminal, plain lines at most every so often elsewhere. Thread-safe.
/// </summary>
public abstract class WorkProgress
{
    private int done;
    private int failed;

    protected WorkProgress(int total, TimeProvider time)
    {
        Total = total;
        Time = time;
        Started = time.GetTimestamp();
    }

    public int Total { get; }

    public int Done => Volatile.Read(ref done);

    public int Failed => Volatile.Read(ref failed);

    public TimeSpan Elapsed => Time.GetElapsedTime(Started);

    /// <summary>Items per second so far.</summary>
    public double Rate => Elapsed.TotalSeconds > 0 ? Done / Elapsed.TotalSeconds : 0;

    protected TimeProvider Time { get; }

    private long Started { get; }

    /// <summary>
    /// The live bar where <paramref name="error"/> is a terminal and <paramref name="mayDrawLive"/> (nothing else
    /// writes to the same screen meanwhile: results go to a file or a pipe); otherwise a line from
    /// <paramref name="line"/> at most every <paramref name="lineInterval"/>.
    /// </summary>
    public static WorkProgress For(TextWriter error, bool mayDrawLive, string description, string unit, int total, TimeSpan lineInterval, Func<WorkProgress, string> line, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(error);
        var console = CliConsole.For(error);
        return console.IsInteractive && mayDrawLive
            ? Live(console.Console, description, unit, total, time)
            : Lines(error, lineInterval, line, total, time);
    }

    /// <summary>A live bar on <paramref name="console"/>: description, bar, percentage, count, rate, elapsed, remaining.</summary>
    public static WorkProgress Live(IAnsiConsole console, string description, string unit, int total, TimeProvider? time = null) =>
        new LiveWorkProgress(console, description, unit, total, time ?? TimeProvider.System);

    /// <summary>Nothing for short runs, then one line from <paramref name="line"/> every <paramref name="interval"/>.</summary>
    public static WorkProgress Lines(TextWriter writer, TimeSpan interval, Func<WorkProgress, string> line, int total, TimeProvider? time = null) =>
        new LineWorkProgress(writer, interval, line, total, time ?? TimeProvider.System);

    /// <summary>Runs <paramref name="work"/> with the progress shown (a live bar exists only meanwhile).</summary>
    public abstract Task<T> RunAsync<T>(Func<Task<T>> work);

    /// <summary>One more item done (<paramref name="itemFailed"/>: an error row, a failed upload).</summary>
    public void Advance(bool itemFailed = false)
    {
        Interlocked.Increment(ref done);
        if (itemFailed)
        {
            Interlocked.Increment(ref failed);
        }

        OnAdvanced(itemFailed);
    }

    protected abstract void OnAdvanced(bool itemFailed);

    private sealed class LineWorkProgress(TextWriter writer, TimeSpan interval, Func<WorkProgress, string> line, int total, TimeProvider time)
        : WorkProgress(total, time)
    {
        private readonly Lock gate = new();
        private TimeSpan lastLine;

        public override Task<T> RunAsync<T>(Func<Task<T>> work) => work();

        protected override void OnAdvanced(bool itemFailed)
        {
            var elapsed = Elapsed;
            if (elapsed - lastLine < interval)
            {
                return;
            }

            lock (gate)
            {
                if (elapsed - lastLine >= interval)
                {
                    lastLine = elapsed;
                    writer.WriteLine(line(this));
                }
            }
        }
    }

    private sealed class LiveWorkProgress(IAnsiConsole console, string description, string unit, int total, TimeProvider time)
        : WorkProgress(total, time)
    {
        private ProgressTask? task;

        public override Task<T> RunAsync<T>(Func<Task<T>> work) =>
            new Progress(console, Time)
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(
                    new TaskDescriptionColumn(),
                    new ProgressBarColumn(),
                    new PercentageColumn(),
                    new CountColumn(this, unit),
                    new RateColumn(this, unit),
                    new ElapsedTimeColumn(),
                    new RemainingTimeColumn(),
                    new SpinnerColumn())
                .StartAsync(async context =>
                {
                    task = context.AddTask(Markup.Escape(description), maxValue: Math.Max(1, Total));
                    try
                    {
                        return await work().ConfigureAwait(false);
                    }
                    finally
                    {
                        task.Value = Math.Max(1, Total);
                        task.StopTask();
                        context.Refresh();
                    }
                });

        protected override void OnAdvanced(bool itemFailed)
        {
            if (task is not { } current)
            {
                return;
            }

            current.Increment(1);
            if (itemFailed)
            {
                current.Description = Markup.Escape(description) + $" [red]({Failed} errors)[/]";
            }
        }
    }

    /// <summary>"123/200 images".</summary>
    private sealed class CountColumn(WorkProgress progress, string unit) : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(string.Create(CultureInfo.InvariantCulture, $"{progress.Done}/{progress.Total} {unit}"));
    }

    /// <summary>"45.1 images/s", measured over the whole run (the bar's own speed is a recent sample).</summary>
    private sealed class RateColumn(WorkProgress progress, string unit) : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(string.Create(CultureInfo.InvariantCulture, $"{progress.Rate:0.0} {unit}/s"), new Style(Color.Grey));
    }
}
