using System.Globalization;
using MobileNet.Orleans.Client.Terminal;
using MobileNet.Orleans.Contracts.Jobs;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace MobileNet.Orleans.Client.Jobs;

/// <summary>How <c>watch</c> and <c>submit --wait</c> show a job's progress while they poll it.</summary>
public abstract class JobWatchView
{
    /// <summary>A live table on a terminal (<paramref name="error"/> is this process's stderr), else one line per update.</summary>
    /// <param name="nodePrice">Price per node-hour: the view then shows costs too (<see cref="JobCostFormatter.WatchSuffix"/>).</param>
    public static JobWatchView For(TextWriter error, TimeProvider? time = null, decimal? nodePrice = null)
    {
        ArgumentNullException.ThrowIfNull(error);
        var console = CliConsole.For(error);
        JobWatchView view = console.IsInteractive ? new Live(console.Console) : new Lines(error, time ?? TimeProvider.System);
        view.NodePrice = nodePrice;
        return view;
    }

    /// <summary>Price per node-hour for the efficiency and cost figures; null shows efficiency only.</summary>
    public decimal? NodePrice { get; set; }

    /// <summary>Runs the polling loop <paramref name="watch"/> with the view shown (a live region exists only meanwhile).</summary>
    public abstract Task<JobStatus> RunAsync(Func<Task<JobStatus>> watch);

    /// <summary>The latest status.</summary>
    public abstract Task ShowAsync(JobStatus status);

    /// <summary>The cluster stopped answering (<paramref name="message"/> says why and for how long watching retries).</summary>
    public abstract Task TroubleAsync(string message);

    /// <summary>The cluster answers again after <see cref="TroubleAsync"/>.</summary>
    public abstract Task RecoveredAsync();

    /// <summary>
    /// Logs and pipes: a line when something moved, at most every <see cref="MinLineInterval"/>, and always the last
    /// one; notes as their own lines. Nothing is redrawn.
    /// </summary>
    public sealed class Lines(TextWriter writer, TimeProvider time) : JobWatchView
    {
        public static readonly TimeSpan MinLineInterval = TimeSpan.FromSeconds(2);

        private DateTimeOffset lastPrinted = DateTimeOffset.MinValue;
        private string? lastKey;

        public override Task<JobStatus> RunAsync(Func<Task<JobStatus>> watch)
        {
            ArgumentNullException.ThrowIfNull(watch);
            return watch();
        }

        public override async Task ShowAsync(JobStatus status)
        {
            ArgumentNullException.ThrowIfNull(status);
            var key = $"{status.State}/{JobStatusFormatter.Processed(status)}/{status.TotalImages}";
            var now = time.GetUtcNow();
            if (status.IsTerminal || (key != lastKey && now - lastPrinted >= MinLineInterval))
            {
                await writer.WriteLineAsync(JobStatusFormatter.ProgressLine(status) + JobCostFormatter.WatchSuffix(status, NodePrice)).ConfigureAwait(false);
                await writer.FlushAsync().ConfigureAwait(false);
                lastPrinted = now;
                lastKey = key;
            }
        }

        public override Task TroubleAsync(string message) => WriteNoteAsync(message);

        public override Task RecoveredAsync() => WriteNoteAsync("reconnected");

        private async Task WriteNoteAsync(string message)
        {
            await writer.WriteLineAsync("  (" + message + ")").ConfigureAwait(false);
            await writer.FlushAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A table redrawn in place: the job's bar, counts, rate and ETA, then one row per silo with its share of the
    /// images so far; shard counts and, while the cluster does not answer, why, underneath. What it last showed stays on screen when the job ends.
    /// </summary>
    public sealed class Live(IAnsiConsole console) : JobWatchView
    {
        /// <summary>Silo rows shown; the rest are summed up in one row.</summary>
        public const int MaxSiloRows = 12;

        private const int BarWidth = 30;

        private LiveDisplayContext? context;
        private JobStatus? status;
        private string? note;

        public override Task<JobStatus> RunAsync(Func<Task<JobStatus>> watch)
        {
            ArgumentNullException.ThrowIfNull(watch);
            return console.Live(Render()).AutoClear(false).Overflow(VerticalOverflow.Ellipsis).StartAsync(async live =>
            {
                context = live;
                try
                {
                    return await watch().ConfigureAwait(false);
                }
                finally
                {
                    context = null;
                }
            });
        }

        public override Task ShowAsync(JobStatus status)
        {
            ArgumentNullException.ThrowIfNull(status);
            this.status = status;
            Redraw();
            return Task.CompletedTask;
        }

        public override Task TroubleAsync(string message)
        {
            note = message;
            Redraw();
            return Task.CompletedTask;
        }

        public override Task RecoveredAsync()
        {
            note = null;
            Redraw();
            return Task.CompletedTask;
        }

        private void Redraw()
        {
            if (context is { } live)
            {
                live.UpdateTarget(Render());
                live.Refresh();
            }
        }

        /// <summary>The table for the latest status (a placeholder before the first).</summary>
        internal IRenderable Render()
        {
            if (status is not { } s)
            {
                return new Markup("[grey]waiting for the job's status ...[/]");
            }

            var c = CultureInfo.InvariantCulture;
            var table = new Table().Border(TableBorder.Rounded)
                .Title(new TableTitle($"job {Markup.Escape(s.JobId)}  [{StateColor(s.State)}]{s.State}[/]"))
                .AddColumn(new TableColumn("[bold]silo[/]").NoWrap())
                .AddColumn(new TableColumn("[bold]progress[/]").NoWrap())
                .AddColumn(new TableColumn("[bold]images[/]").RightAligned().NoWrap())
                .AddColumn(new TableColumn("[bold]errors[/]").RightAligned().NoWrap())
                .AddColumn(new TableColumn("[bold]img/s[/]").RightAligned().NoWrap())
                .AddColumn(new TableColumn("[bold]ETA[/]").RightAligned().NoWrap());
            var processed = JobStatusFormatter.Processed(s);
            var total = s.ListingComplete ? s.TotalImages.ToString(c) : s.TotalImages.ToString(c) + "+";
            var fraction = s.TotalImages > 0 ? Math.Clamp((double)processed / s.TotalImages, 0, 1) : 0;
            table.AddRow(
                new Markup("[bold]all[/]"),
                Bar(fraction, Color.Green),
                new Text(string.Create(c, $"{processed}/{total}")),
                new Text(s.Errors.ToString(c), s.Errors > 0 ? new Style(Color.Red) : Style.Plain),
                new Text(s.ImagesPerSecond.ToString("0.0", c)),
                new Text(JobStatusFormatter.FormatEta(s)));

            var silos = s.Silos.OrderByDescending(x => x.Labeled + x.Errors).ThenBy(x => x.Silo, StringComparer.Ordinal).ToList();
            var sum = silos.Sum(x => x.Labeled + x.Errors);
            foreach (var silo in silos.Take(MaxSiloRows))
            {
                var done = silo.Labeled + silo.Errors;
                var share = sum > 0 ? (double)done / sum : 0;
                table.AddRow(
                    new Text(silo.Silo),
                    Bar(s.TotalImages > 0 ? Math.Clamp((double)done / s.TotalImages, 0, 1) : 0, Color.Blue),
                    new Text(string.Create(c, $"{done} ({share * 100:0}%)")),
                    new Text(silo.Errors.ToString(c), silo.Errors > 0 ? new Style(Color.Red) : Style.Plain),
                    Text.Empty,
                    Text.Empty);
            }

            if (silos.Count > MaxSiloRows)
            {
                var rest = silos.Skip(MaxSiloRows).ToList();
                table.AddRow(
                    new Text(string.Create(c, $"+{rest.Count} more")),
                    Text.Empty,
                    new Text(rest.Sum(x => x.Labeled + x.Errors).ToString(c)),
                    new Text(rest.Sum(x => x.Errors).ToString(c)),
                    Text.Empty,
                    Text.Empty);
            }

            if (silos.Count == 0)
            {
                table.AddRow(new Markup("[grey]no silo has finished a shard yet[/]"), Text.Empty, Text.Empty, Text.Empty, Text.Empty, Text.Empty);
            }

            var shards = string.Create(c, $"shards: {s.ShardsDone} done, {s.ShardsRunning} running, {s.ShardsPending} pending, {s.ShardsFailed} failed of {s.ShardsTotal}");
            table.Caption(new TableTitle(note is null ? Markup.Escape(shards) : $"{Markup.Escape(shards)}\n[yellow]{Markup.Escape(note)}[/]"));
            // Efficiency, cost and the top error classes under the table, as the piped line carries them.
            var figures = JobCostFormatter.WatchSuffix(s, NodePrice).TrimStart(' ', '|');
            return figures.Length == 0 ? table : table.Caption(new TableTitle(Markup.Escape(figures)));
        }

        private static Markup Bar(double fraction, Color color)
        {
            var filled = (int)Math.Round(fraction * BarWidth);
            return new Markup($"[{color.ToMarkup()}]{new string('━', filled)}[/][grey]{new string('━', BarWidth - filled)}[/] {(fraction * 100).ToString("0.0", CultureInfo.InvariantCulture),5}%");
        }

        private static string StateColor(JobState state) => state switch
        {
            JobState.Completed => "green",
            JobState.Failed => "red",
            JobState.Cancelled => "grey",
            _ => "blue",
        };
    }
}
