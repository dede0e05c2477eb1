using Spectre.Console;
using Spectre.Console.Rendering;

namespace MobileNet.Orleans.Client.Terminal;

/// <summary>
/// Where the CLI's human-readable output goes, and the one place that decides whether that is a person at a terminal
/// (tables with borders, colours, live progress redrawn in place) or a pipe, a file or a log (plain lines: no escape
/// codes, no width limit, one line per update). <c>--json</c> outputs never go through it.
/// </summary>
public sealed class CliConsole
{
    /// <summary>Wide enough that no row wraps where nothing limits the width (a pipe, a file).</summary>
    private const int UnboundedWidth = 8192;

    public CliConsole(IAnsiConsole console, bool interactive)
    {
        ArgumentNullException.ThrowIfNull(console);
        Console = console;
        IsInteractive = interactive;
    }

    public IAnsiConsole Console { get; }

    /// <summary>True on a terminal: output may be redrawn in place.</summary>
    public bool IsInteractive { get; }

    /// <summary>A console over <paramref name="writer"/>: interactive when it is this process's own stdout or stderr and that is a terminal.</summary>
    public static CliConsole For(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (IsTerminal(writer))
        {
            return new CliConsole(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer) }), interactive: true);
        }

        var plain = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(new LineEndTrimmingWriter(writer)),
        });
        plain.Profile.Width = UnboundedWidth;
        return new CliConsole(plain, interactive: false);
    }

    /// <summary>Whether <paramref name="writer"/> is this process's stdout or stderr and that is a terminal (not redirected).</summary>
    public static bool IsTerminal(TextWriter writer) =>
        (ReferenceEquals(writer, System.Console.Error) && !System.Console.IsErrorRedirected)
        || (ReferenceEquals(writer, System.Console.Out) && !System.Console.IsOutputRedirected);

    /// <summary>
    /// A table with these column headers: rounded borders and a bold header on a terminal; otherwise plain columns two
    /// spaces apart, header line first, one row per line (what <c>awk</c> and <c>grep</c> expect).
    /// </summary>
    public Table CreateTable(params string[] headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var table = new Table();
        if (IsInteractive)
        {
            table.Border(TableBorder.Rounded);
        }
        else
        {
            table.Border(TableBorder.None);
        }

        foreach (var header in headers)
        {
            var column = new TableColumn(IsInteractive ? new Markup($"[bold]{Markup.Escape(header)}[/]") : new Text(header)).NoWrap();
            if (!IsInteractive)
            {
                column.Padding(0, 0, 2, 0);
            }

            table.AddColumn(column);
        }

        if (headers.Length == 0)
        {
            table.HideHeaders();
        }

        return table;
    }

    /// <summary>A two-column table of labels and values (no header), for one object's details.</summary>
    public Table CreateDetails()
    {
        return CreateTable(string.Empty, string.Empty).HideHeaders();
    }

    /// <summary>Plain text in a cell (never parsed as markup: values may hold brackets).</summary>
    public static IRenderable Cell(string? text) => new Text(text ?? string.Empty);

    /// <summary>Text coloured on a terminal, plain elsewhere.</summary>
    public IRenderable Cell(string? text, Color color) =>
        IsInteractive ? new Text(text ?? string.Empty, new Style(color)) : new Text(text ?? string.Empty);

    public void Write(IRenderable renderable) => Console.Write(renderable);
}
