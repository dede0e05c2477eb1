namespace MobileNet.Inference;

/// <summary>Why one image could not be labeled. Rendered as <c>code: reason</c> in result files.</summary>
public sealed record ImageError(string Code, string Reason)
{
    public override string ToString() => $"{Code}: {Reason}";
}

/// <summary>The stable error codes that appear in result rows; scripts may match on them.</summary>
public static class ImageErrorCodes
{
    /// <summary>Not an image in a supported format (JPEG, PNG, BMP, GIF, TIFF, WebP), or a format feature the decoder lacks.</summary>
    public const string UnsupportedFormat = "unsupported-format";

    /// <summary>Recognised format but broken content (truncated, bad checksums, invalid headers).</summary>
    public const string CorruptImage = "corrupt-image";

    /// <summary>Over the byte, pixel or decoder memory limits.</summary>
    public const string TooLarge = "too-large";

    /// <summary>Zero bytes.</summary>
    public const string EmptyFile = "empty-file";

    /// <summary>The source does not exist (file or blob).</summary>
    public const string NotFound = "not-found";

    /// <summary>The source exists but could not be read (permissions, I/O error on that one item).</summary>
    public const string ReadFailed = "read-failed";
}

/// <summary>
/// Thrown by an <see cref="ImageSource"/> for a problem with that one image (missing, unreadable): the pipeline turns it
/// into an error row. Any other exception from a source fails the whole run (a storage outage must not become error rows).
/// </summary>
public sealed class ImageLoadException(ImageError error, Exception? innerException = null)
    : Exception(error.ToString(), innerException)
{
    public ImageError Error { get; } = error;
}
