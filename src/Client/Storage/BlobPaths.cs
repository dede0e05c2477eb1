using MobileNet.Orleans.Contracts.Storage;

namespace MobileNet.Orleans.Client.Storage;

/// <summary>Parses user-given <c>container/prefix</c> locations into <see cref="BlobPath"/> with CLI-style errors.</summary>
public static class BlobPaths
{
    /// <summary>Parses <paramref name="value"/> for <paramref name="option"/>; bad input is a <see cref="CliUsageException"/>.</summary>
    public static BlobPath ParseOption(string option, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new CliUsageException($"{option} needs a location written container/prefix (e.g. photos/2026-11)");
        }

        try
        {
            var path = BlobPath.Parse(value);
            // A prefix names a folder: "photos/a/" and "photos/a" are the same place.
            return path with { Prefix = path.Prefix.Trim('/') };
        }
        catch (FormatException ex)
        {
            throw new CliUsageException($"{option} {ex.Message}");
        }
    }

    /// <summary>The blob-name prefix that selects everything "inside" <paramref name="path"/> (ends with '/' unless empty).</summary>
    public static string FolderPrefix(BlobPath path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return path.Prefix.Length == 0 ? "" : path.Prefix + "/";
    }

    /// <summary>The blob name of <paramref name="relative"/> (a '/'-separated path) under <paramref name="path"/>.</summary>
    public static string Combine(BlobPath path, string relative) => FolderPrefix(path) + relative;
}
