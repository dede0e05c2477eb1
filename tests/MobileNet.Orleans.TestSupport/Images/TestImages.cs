using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace MobileNet.Orleans.Testing.Images;

/// <summary>Small images generated in memory for tests (ImageSharp encodes them; the decoders under test read them).</summary>
public static class TestImages
{
    public static byte[] SolidPng(byte r, byte g, byte b, int width = 24, int height = 20)
    {
        using var image = new Image<Rgb24>(width, height, new Rgb24(r, g, b));
        return Png(image);
    }

    public static byte[] SolidJpeg(byte r, byte g, byte b, int width = 24, int height = 20)
    {
        using var image = new Image<Rgb24>(width, height, new Rgb24(r, g, b));
        return Jpeg(image);
    }

    /// <summary>A JPEG of 4x4 random-coloured blocks, distinct per seed (a dataset of many different images).</summary>
    public static byte[] BlocksJpeg(int seed, int size = 48)
    {
        var random = new Random(seed);
        var colours = Enumerable.Range(0, 16).Select(_ => new Rgb24((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256))).ToArray();
        using var image = new Image<Rgb24>(size, size);
        var block = Math.Max(1, size / 4);
        for (var y = 0; y < size; y++)
        {
            for (var x = 0; x < size; x++)
            {
                image[x, y] = colours[(Math.Min(3, y / block) * 4) + Math.Min(3, x / block)];
            }
        }

        return Jpeg(image);
    }

    /// <summary>A PNG of per-pixel noise over gradients, distinct per seed.</summary>
    public static byte[] NoisePng(int seed, int width = 48, int height = 40)
    {
        var random = new Random(seed);
        using var image = new Image<Rgb24>(width, height);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                image[x, y] = new Rgb24((byte)random.Next(256), (byte)(x * 5), (byte)(y * 6));
            }
        }

        return Png(image);
    }

    public static byte[] Png<TPixel>(Image<TPixel> image, PngEncoder? encoder = null)
        where TPixel : unmanaged, IPixel<TPixel>
    {
        using var stream = new MemoryStream();
        image.SaveAsPng(stream, encoder ?? new PngEncoder());
        return stream.ToArray();
    }

    public static byte[] Jpeg<TPixel>(Image<TPixel> image)
        where TPixel : unmanaged, IPixel<TPixel>
    {
        using var stream = new MemoryStream();
        image.SaveAsJpeg(stream);
        return stream.ToArray();
    }
}
