using System.Diagnostics;
using System.Globalization;

namespace MobileNet.Orleans.Client.Local;

/// <summary>
/// Progress for long local runs, on stderr only (stdout carries results). On a terminal: a bar redrawn in place a few
/// times a second. Otherwise (redirected, captured): nothing for short runs, then one line every <see cref="LineInterval"/>.
/// </summary>
public sealed class ProgressReporter(TextWriter error, int total, bool interactive, TimeProvider? time = null)
{
    public static readonly TimeSpan LineInterval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RedrawInterval = TimeSpan.FromMilliseconds(200);

    private readonly TimeProvider clock = time ?? TimeProvider.System;
    private readonly long started = (time ?? TimeProvider.System).GetTimestamp();
    private TimeSpan lastReport;
    private bool drewBar;

    public int Done { get; private set; }

    public int Failed { get; private set; }

    public void Report(bool failed)
    {
        Done++;
        if (failed)
        {
            Failed++;
        }

        var elapsed = clock.GetElapsedTime(started);
        if (interactive)
        {
            if (elapsed - lastReport >= RedrawInterval || Done == total)
            {
                lastReport = elapsed;
                error.Write("\r" + Bar(elapsed));
                drewBar = true;
            }
        }
        else if (elapsed - lastReport >= LineInterval)
        {
            lastReport = elapsed;
            error.WriteLine(Line(elapsed));
        }
    }

    /// <summary>Ends the bar and prints the one-line summary.</summary>
    public void Complete()
    {
        if (drewBar)
        {
            error.WriteLine();
        }

        var elapsed = clock.GetElapsedTime(started);
        error.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"labeled {Done} images ({Done - Failed} ok, {Failed} errors) in {elapsed.TotalSeconds:F1} s ({Rate(elapsed):F1} images/s)"));
    }

    private string Bar(TimeSpan elapsed)
    {
        const int width = 30;
        var fraction = total == 0 ? 1.0 : (double)Done / total;
        var filled = (int)(fraction * width);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"[{new string('#', filled)}{new string('-', width - filled)}] {Done}/{total} {fraction:P0} {Rate(elapsed):F1} img/s {Failed} errors ");
    }

    private string Line(TimeSpan elapsed) => string.Create(
        CultureInfo.InvariantCulture,
        $"progress: {Done}/{total} images ({(total == 0 ? 1.0 : (double)Done / total):P0}), {Rate(elapsed):F1} images/s, {Failed} errors");

    private double Rate(TimeSpan elapsed) => elapsed.TotalSeconds > 0 ? Done / elapsed.TotalSeconds : 0;

    /// <summary>True when <paramref name="writer"/> is the process's real stderr and that is a terminal.</summary>
    public static bool IsTerminal(TextWriter writer) => ReferenceEquals(writer, Console.Error) && !Console.IsErrorRedirected;
}
