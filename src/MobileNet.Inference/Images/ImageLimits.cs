namespace MobileNet.Inference;

/// <summary>
/// Caps applied to every untrusted image from its header, before any pixel buffer exists, so that a decompression
/// bomb or an oversized file costs only its header. Two size limits fit scaled decoding: the declared size is capped
/// per side (<see cref="MaxDimension"/>), and the pixels actually decoded are capped after scaling
/// (<see cref="MaxDecodedPixels"/>): a 100-megapixel JPEG decodes at 1/8 size and is labeled, while a PNG (which
/// cannot be decoded at a reduced size) declaring 100 megapixels is refused.
/// </summary>
public sealed record ImageLimits
{
    public const long DefaultMaxBytes = 64L * 1024 * 1024;
    public const long DefaultMaxDecodedPixels = 64L * 1000 * 1000;
    public const int DefaultMaxDimension = 65_500;

    public static ImageLimits Default { get; } = new();

    /// <summary>Largest encoded file accepted, in bytes.</summary>
    public long MaxBytes { get; init; } = DefaultMaxBytes;

    /// <summary>Largest width x height decoded, after any DCT scaling, checked from the header before decoding.</summary>
    public long MaxDecodedPixels { get; init; } = DefaultMaxDecodedPixels;

    /// <summary>
    /// Largest side an image may declare, whatever it is decoded at (the PNG bomb and the absurd 1 x 60,000,000 strip
    /// alike); the default is libjpeg-turbo's own maximum.
    /// </summary>
    public int MaxDimension { get; init; } = DefaultMaxDimension;

    /// <summary>
    /// ImageSharp only (TIFF): cap on any one buffer the decoder may allocate, in MB, a last line of defence for headers
    /// that understate what decoding needs. Must cover MaxDecodedPixels x 4 bytes (RGBA).
    /// </summary>
    public int DecoderAllocationLimitMegabytes { get; init; } = 320;

    /// <summary>ImageSharp only: memory its decoder keeps pooled for reuse between images, in MB.</summary>
    public int DecoderPoolMegabytes { get; init; } = 64;

    internal void Validate()
    {
        if (MaxBytes <= 0 || MaxDecodedPixels <= 0 || MaxDimension <= 0 || DecoderAllocationLimitMegabytes <= 0 || DecoderPoolMegabytes < 0)
        {
            throw new ArgumentException($"Image limits must be positive: {this}.");
        }
    }

    /// <summary>The header's size against the per-side cap; null when acceptable.</summary>
    internal ImageError? CheckDeclaredSize(int width, int height)
    {
        if (width <= 0 || height <= 0)
        {
            return new ImageError(ImageErrorCodes.CorruptImage, $"invalid image size {width}x{height}");
        }

        return width > MaxDimension || height > MaxDimension
            ? new ImageError(ImageErrorCodes.TooLarge, $"{width}x{height} pixels is over the limit of {MaxDimension} pixels a side")
            : null;
    }

    /// <summary>The size the decoder would produce against the decoded-pixel cap; null when acceptable.</summary>
    internal ImageError? CheckDecodedSize(int width, int height, int decodedWidth, int decodedHeight)
    {
        var pixels = (long)decodedWidth * decodedHeight;
        if (pixels <= MaxDecodedPixels)
        {
            return null;
        }

        var scaled = decodedWidth == width && decodedHeight == height ? "" : $" (decoded at {decodedWidth}x{decodedHeight})";
        return new ImageError(ImageErrorCodes.TooLarge, $"{width}x{height} pixels{scaled} is over the limit of {MaxDecodedPixels} decoded pixels");
    }
}
