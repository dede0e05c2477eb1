using System.Diagnostics.CodeAnalysis;

namespace MobileNet.Inference.Decoding;

/// <summary>
/// Decodes one sniffed format to an upright, opaque <see cref="DecodedImage"/>. Reads the header first and applies
/// <see cref="ImageLimits"/> before any pixel buffer exists; never throws for bad input (a typed error instead).
/// </summary>
internal interface IImageDecoder
{
    /// <param name="minShorterSide">
    /// The decoder may decode at a reduced scale (JPEG DCT scaling) as long as the shorter side stays at least this long.
    /// </param>
    bool TryDecode(
        ReadOnlySpan<byte> encoded, ImageFormat format, int minShorterSide,
        [NotNullWhen(true)] out DecodedImage? image, [NotNullWhen(false)] out ImageError? error);
}
