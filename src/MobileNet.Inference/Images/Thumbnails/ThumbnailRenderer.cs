using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using MobileNet.Inference.Decoding;
using MobileNet.Inference.Resampling;
using SkiaSharp;

namespace MobileNet.Inference;

/// <summary>
/// Small previews of untrusted images (the dashboard's sample grid): the same decoders and limits as labeling
/// (<see cref="ImagePreprocessor"/>), JPEG decoded at the smallest DCT scale that covers the thumbnail, the same
/// antialiased resampler, the whole image fitted into <c>maxSide x maxSide</c>, encoded as JPEG. Thread-safe.
/// </summary>
public sealed class ThumbnailRenderer
{
    public const int MinSide = 16;
    public const int MaxSide = 512;

    private readonly IImageDecoder skia;
    private readonly IImageDecoder imageSharp;
    private readonly ImageLimits limits;

    public ThumbnailRenderer(ImageLimits? limits = null)
    {
        this.limits = limits ?? ImageLimits.Default;
        this.limits.Validate();
        skia = new SkiaImageDecoder(this.limits);
        imageSharp = new ImageSharpImageDecoder(this.limits);
    }

    /// <summary>A JPEG of at most <paramref name="maxSide"/> pixels a side, or the image's error (never throws for bad input).</summary>
    public bool TryRender(ReadOnlySpan<byte> encoded, int maxSide, int quality, [NotNullWhen(true)] out byte[]? jpeg, [NotNullWhen(false)] out ImageError? error)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSide, MinSide);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxSide, MaxSide);
        ArgumentOutOfRangeException.ThrowIfLessThan(quality, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quality, 100);
        jpeg = null;
        if (encoded.IsEmpty)
        {
            error = new ImageError(ImageErrorCodes.EmptyFile, "the file is empty (0 bytes)");
            return false;
        }

        if (encoded.Length > limits.MaxBytes)
        {
            error = ImagePreprocessor.TooManyBytes(encoded.Length, limits.MaxBytes);
            return false;
        }

        var format = ImageFormatSniffer.Sniff(encoded[..Math.Min(encoded.Length, ImageFormatSniffer.SignatureLength)]);
        if (format == ImageFormat.Unknown)
        {
            error = new ImageError(ImageErrorCodes.UnsupportedFormat, "not a supported image (JPEG, PNG, BMP, GIF, TIFF, WebP)");
            return false;
        }

        try
        {
            var decoder = SkiaImageDecoder.Decodes(format) ? skia : imageSharp;
            if (!decoder.TryDecode(encoded, format, maxSide, out var image, out error))
            {
                return false;
            }

            using (image)
            {
                jpeg = Encode(image, maxSide, quality);
                return true;
            }
        }
#pragma warning disable CA1031 // Untrusted input: as in ImagePreprocessor, any decoder failure is this image's error.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            error = new ImageError(ImageErrorCodes.CorruptImage, $"decoder failed: {ex.GetType().Name}: {ImagePreprocessor.OneLine(ex.Message)}");
            return false;
        }
    }

    private static byte[] Encode(DecodedImage image, int maxSide, int quality)
    {
        // Fit inside maxSide x maxSide, never enlarge.
        var scale = Math.Min(1.0, (double)maxSide / Math.Max(image.Width, image.Height));
        var width = Math.Max(1, (int)Math.Round(image.Width * scale));
        var height = Math.Max(1, (int)Math.Round(image.Height * scale));
        var rgb = ArrayPool<float>.Shared.Rent(width * height * 3);
        try
        {
            AntialiasedResampler.ResizeCrop(image.Pixels, image.Width, image.Height, width, height, new CropWindow(0, 0, width, height), rgb);
            using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
            var pixels = bitmap.GetPixelSpan();
            for (var i = 0; i < width * height; i++)
            {
                pixels[i * 4] = ToByte(rgb[i * 3]);
                pixels[(i * 4) + 1] = ToByte(rgb[(i * 3) + 1]);
                pixels[(i * 4) + 2] = ToByte(rgb[(i * 3) + 2]);
                pixels[(i * 4) + 3] = 255;
            }

            using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, quality);
            return data.ToArray();
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rgb);
        }
    }

    private static byte ToByte(float value) => (byte)Math.Clamp((int)MathF.Round(value), 0, 255);
}
