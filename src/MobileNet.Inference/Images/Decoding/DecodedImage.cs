using System.Buffers;

namespace MobileNet.Inference.Decoding;

/// <summary>
/// One decoded frame, upright (EXIF orientation applied) and opaque (transparency composited on white), as 8-bit RGBX
/// pixels (4 bytes a pixel, the fourth unused) in a buffer rented from <see cref="PixelBufferPool"/>. Dispose returns it.
/// </summary>
internal sealed class DecodedImage : IDisposable
{
    private byte[]? pixels;

    public DecodedImage(byte[] pixels, int width, int height)
    {
        this.pixels = pixels;
        Width = width;
        Height = height;
    }

    public int Width { get; }

    public int Height { get; }

    public const int BytesPerPixel = 4;

    public ReadOnlySpan<byte> Pixels => (pixels ?? throw new ObjectDisposedException(nameof(DecodedImage))).AsSpan(0, Width * Height * BytesPerPixel);

    /// <summary>Swaps in an upright copy of the pixels (same pool), releasing the stored-orientation buffer.</summary>
    public static DecodedImage Orient(DecodedImage stored, ExifOrientation orientation)
    {
        if (orientation == ExifOrientation.TopLeft)
        {
            return stored;
        }

        using (stored)
        {
            var swap = orientation.SwapsAxes();
            int width = swap ? stored.Height : stored.Width, height = swap ? stored.Width : stored.Height;
            var upright = PixelBufferPool.Rent(width, height);
            Reorient(stored.Pixels, stored.Width, stored.Height, upright, orientation);
            return new DecodedImage(upright, width, height);
        }
    }

    public void Dispose()
    {
        var rented = Interlocked.Exchange(ref pixels, null);
        if (rented is not null)
        {
            PixelBufferPool.Return(rented);
        }
    }

    /// <summary>Writes the displayed image: destination pixel (x, y) reads the stored pixel the EXIF tag maps it to.</summary>
    private static void Reorient(ReadOnlySpan<byte> source, int storedWidth, int storedHeight, Span<byte> destination, ExifOrientation orientation)
    {
        var swap = orientation.SwapsAxes();
        int width = swap ? storedHeight : storedWidth, height = swap ? storedWidth : storedHeight;
        var sourcePixels = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(source);
        var destinationPixels = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(destination);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                // (sx, sy) in the stored image for displayed (x, y); the tag says how the stored image must be turned.
                var (sx, sy) = orientation switch
                {
                    ExifOrientation.TopRight => (storedWidth - 1 - x, y),
                    ExifOrientation.BottomRight => (storedWidth - 1 - x, storedHeight - 1 - y),
                    ExifOrientation.BottomLeft => (x, storedHeight - 1 - y),
                    ExifOrientation.LeftTop => (y, x),
                    ExifOrientation.RightTop => (y, storedHeight - 1 - x),
                    ExifOrientation.RightBottom => (storedWidth - 1 - y, storedHeight - 1 - x),
                    ExifOrientation.LeftBottom => (storedWidth - 1 - y, x),
                    _ => (x, y),
                };
                destinationPixels[(y * width) + x] = sourcePixels[(sy * storedWidth) + sx];
            }
        }
    }
}

/// <summary>The EXIF orientation tag's eight values (1 = stored upright).</summary>
internal enum ExifOrientation
{
    TopLeft = 1,
    TopRight = 2,
    BottomRight = 3,
    BottomLeft = 4,
    LeftTop = 5,
    RightTop = 6,
    RightBottom = 7,
    LeftBottom = 8,
}

internal static class ExifOrientationExtensions
{
    /// <summary>Values 5-8 turn the image by 90 degrees: width and height trade places.</summary>
    public static bool SwapsAxes(this ExifOrientation orientation) => orientation >= ExifOrientation.LeftTop;

    public static ExifOrientation FromTag(int value) => value is >= 1 and <= 8 ? (ExifOrientation)value : ExifOrientation.TopLeft;
}

/// <summary>
/// Pixel buffers shared by all decoders. Typical decodes (a JPEG scaled to ~640x360) reuse a few MB; buffers above
/// <see cref="MaxPooledBytes"/> (a rare full-size PNG) are allocated and left to the GC so the pool never pins them.
/// </summary>
internal static class PixelBufferPool
{
    public const int MaxPooledBytes = 16 * 1024 * 1024;

    private static readonly ArrayPool<byte> Pool = ArrayPool<byte>.Create(MaxPooledBytes, Math.Max(4, Environment.ProcessorCount * 2));

    public static byte[] Rent(int width, int height) => Pool.Rent(checked(width * height * DecodedImage.BytesPerPixel));

    public static void Return(byte[] buffer) => Pool.Return(buffer);
}
