using System.Text;

namespace MobileNet.Orleans.Client.Terminal;

/// <summary>
/// Passes text through but drops the spaces at the end of each line. Spectre.Console pads every table row to the
/// table's width; on a terminal that is invisible, but piped output would carry the padding into files and diffs.
/// </summary>
internal sealed class LineEndTrimmingWriter(TextWriter inner) : TextWriter
{
    // Spaces seen since the last other character: written only once something other than a line end follows them.
    private int pendingSpaces;

    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value)
    {
        switch (value)
        {
            case ' ':
                pendingSpaces++;
                return;
            case '\n' or '\r':
                pendingSpaces = 0;
                break;
            default:
                FlushSpaces();
                break;
        }

        inner.Write(value);
    }

    public override void Write(string? value)
    {
        foreach (var c in value ?? string.Empty)
        {
            Write(c);
        }
    }

    public override void Write(char[] buffer, int index, int count)
    {
        for (var i = index; i < index + count; i++)
        {
            Write(buffer[i]);
        }
    }

    public override void Flush() => inner.Flush();

    private void FlushSpaces()
    {
        if (pendingSpaces > 0)
        {
            inner.Write(new string(' ', pendingSpaces));
            pendingSpaces = 0;
        }
    }
}
