using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace MobileNet.Inference.Tests.TestSupport;

/// <summary>Small images generated in memory for tests.</summary>
internal static class TestImages
{
    public static byte[] SolidPng(byte r, byte g, byte b, int width = 24, int height = 20)
    {
        using var image = new Image<Rgb24>(width, height, new Rgb24(r, g, b));
        return Png(image);
    }

    public static byte[] SolidJpeg(byte r, byte g, byte b, int width = 24, int height = 20)
    {
        using var image = new Image<Rgb24>(width, height, new Rgb24(r, g, b));
        using var stream = new MemoryStream();
        image.SaveAsJpeg(stream);
        return stream.ToArray();
    }

    public static byte[] Png<TPixel>(Image<TPixel> image, PngEncoder? encoder = null)
        where TPixel : unmanaged, IPixel<TPixel>
    {
        using var stream = new MemoryStream();
        image.SaveAsPng(stream, encoder ?? new PngEncoder());
        return stream.ToArray();
    }
}
