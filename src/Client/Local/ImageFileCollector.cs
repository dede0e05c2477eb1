namespace MobileNet.Orleans.Client.Local;

/// <summary>Expands the files and folders given to <c>classify</c> into a sorted, de-duplicated list of image files.</summary>
public static class ImageFileCollector
{
    /// <summary>Extensions picked up when walking folders (case-insensitive). A file named explicitly is always tried.</summary>
    public static readonly IReadOnlySet<string> Extensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        ".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp",
    };

    /// <summary>
    /// Returns the image paths in ordinal (stable, culture-free) order, each spelled as found (the folder argument joined with
    /// the relative path). Throws <see cref="CliUsageException"/> for a path that is neither a file nor a folder.
    /// </summary>
    public static IReadOnlyList<string> Collect(IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var found = new HashSet<string>(StringComparer.Ordinal);
        var seenFullPaths = new HashSet<string>(StringComparer.Ordinal);
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            IgnoreInaccessible = true,
            MatchType = MatchType.Simple,
            AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
        };
        foreach (var path in paths)
        {
            if (File.Exists(path))
            {
                Add(path);
            }
            else if (Directory.Exists(path))
            {
                foreach (var file in Directory.EnumerateFiles(path, "*", options))
                {
                    if (Extensions.Contains(Path.GetExtension(file)))
                    {
                        Add(file);
                    }
                }
            }
            else
            {
                throw new CliUsageException($"no such file or folder: {path}");
            }
        }

        var sorted = found.ToList();
        sorted.Sort(StringComparer.Ordinal);
        return sorted;

        void Add(string file)
        {
            // The same file reached twice (named and inside a named folder) is labeled once.
            if (seenFullPaths.Add(Path.GetFullPath(file)))
            {
                found.Add(file);
            }
        }
    }
}
