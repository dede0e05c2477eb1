using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.PixelFormats;
using SkiaSharp;

namespace MobileNet.Inference.Tests;

/// <summary>Images in a given colour space (Skia writes the ICC profile) and per-format test images, with colour helpers.</summary>
internal static class SkiaTestImages
{
    /// <summary>A flat image whose stored values are <paramref name="stored"/>, tagged with <paramref name="colorSpace"/>'s ICC profile.</summary>
    public static byte[] Encode(SKEncodedImageFormat format, int width, int height, (byte R, byte G, byte B) stored, SKColorSpace colorSpace)
    {
        var pixels = new byte[width * height * 4];
        for (var i = 0; i < pixels.Length; i += 4)
        {
            (pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]) = (stored.R, stored.G, stored.B, 255);
        }

        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque, colorSpace);
        var handle = System.Runtime.InteropServices.GCHandle.Alloc(pixels, System.Runtime.InteropServices.GCHandleType.Pinned);
        try
        {
            using var pixmap = new SKPixmap(info, handle.AddrOfPinnedObject());
            using var data = format == SKEncodedImageFormat.Jpeg
                ? pixmap.Encode(new SKJpegEncoderOptions(100, SKJpegEncoderDownsample.Downsample444, SKJpegEncoderAlphaOption.Ignore))
                : pixmap.Encode(SKPngEncoderOptions.Default);
            return (data ?? throw new InvalidOperationException($"Skia could not encode {format}")).ToArray();
        }
        finally
        {
            handle.Free();
        }
    }

    /// <summary>Adobe RGB (1998) to sRGB, from the two standards' published matrices (both D65) and transfer functions.</summary>
    public static (int R, int G, int B) AdobeRgbToSrgb((byte R, byte G, byte B) adobe)
    {
        static double Linear(byte v) => Math.Pow(v / 255.0, 563.0 / 256.0);
        static int Encode(double v)
        {
            v = Math.Clamp(v, 0, 1);
            var s = v <= 0.0031308 ? 12.92 * v : (1.055 * Math.Pow(v, 1 / 2.4)) - 0.055;
            return (int)Math.Round(s * 255);
        }

        double r = Linear(adobe.R), g = Linear(adobe.G), b = Linear(adobe.B);
        double x = (0.5767309 * r) + (0.1855540 * g) + (0.1881852 * b);
        double y = (0.2973769 * r) + (0.6273491 * g) + (0.0752741 * b);
        double z = (0.0270343 * r) + (0.0706872 * g) + (0.9911085 * b);
        return (
            Encode((3.2404542 * x) - (1.5371385 * y) - (0.4985314 * z)),
            Encode((-0.9692660 * x) + (1.8760108 * y) + (0.0415560 * z)),
            Encode((0.0556434 * x) - (0.2040259 * y) + (1.0572252 * z)));
    }

    /// <summary>The 0..255 RGB the preprocessor fed the model at (x, y), undoing the ImageNet normalisation (NCHW, RGB).</summary>
    public static (int R, int G, int B) PixelAt(ImagePreprocessor preprocessor, byte[] encoded, int x, int y)
    {
        var tensor = new float[preprocessor.TensorLength];
        Assert.True(preprocessor.TryPreprocess(encoded, tensor, out var error), error?.ToString());
        var d = preprocessor.Description;
        var plane = d.Width * d.Height;
        var index = (y * d.Width) + x;
        int Channel(int c) => (int)MathF.Round(((tensor[(c * plane) + index] * d.Std[c]) + d.Mean[c]) * 255f);
        return (Channel(0), Channel(1), Channel(2));
    }

    public static void AssertClose((int R, int G, int B) expected, (int R, int G, int B) actual, int tolerance) =>
        Assert.True(
            Math.Abs(expected.R - actual.R) <= tolerance && Math.Abs(expected.G - actual.G) <= tolerance && Math.Abs(expected.B - actual.B) <= tolerance,
            $"expected {expected}, got {actual}");

    /// <summary>A 96x64 image in <paramref name="format"/>: random noise, or with <paramref name="smooth"/> a colour gradient.</summary>
    public static byte[] NoisyImage(string format, bool smooth = false)
    {
        using var image = new Image<Rgb24>(96, 64);
        var random = new Random(3);
        image.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (var x = 0; x < row.Length; x++)
                {
                    row[x] = smooth
                        ? new Rgb24((byte)(x * 2), (byte)(y * 3), (byte)(255 - x - y))
                        : new Rgb24((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
                }
            }
        });
        using var stream = new MemoryStream();
        switch (format)
        {
            case "jpeg": image.SaveAsJpeg(stream); break;
            case "png": image.SaveAsPng(stream); break;
            case "gif": image.SaveAsGif(stream); break;
            case "bmp": image.SaveAsBmp(stream); break;
            case "webp": image.SaveAsWebp(stream, new WebpEncoder { FileFormat = WebpFileFormatType.Lossy, Quality = 90 }); break;
            case "tiff": image.SaveAsTiff(stream); break;
            default: throw new ArgumentOutOfRangeException(nameof(format), format, null);
        }

        return stream.ToArray();
    }
}
