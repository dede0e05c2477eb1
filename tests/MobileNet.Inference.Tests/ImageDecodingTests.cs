using MobileNet.Inference.Decoding;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.PixelFormats;
using SkiaSharp;

namespace MobileNet.Inference.Tests;

/// <summary>The decoder seam: format sniffing, DCT-scaled JPEG decoding, colour management, size limits, broken files.</summary>
public sealed class ImageDecodingTests
{
    private const int Size = 16;

    private static readonly ModelDescription Tiny = new() { InputName = "input", OutputName = "output", OutputLength = 3, Width = Size, Height = Size };

    private static readonly ModelDescription MobileNet224 = new() { InputName = "input", OutputName = "output", OutputLength = 3, Width = 224, Height = 224 };

    public static TheoryData<string> Formats => ["jpeg", "png", "gif", "bmp", "webp", "tiff"];

    [Theory]
    [InlineData(4096, 3072, 512, 384)] // 1/8: 384 still covers the 256 resize target
    [InlineData(5120, 2880, 640, 360)]
    [InlineData(1500, 1000, 750, 500)] // 1/4 would give 250 < 256: 1/2
    [InlineData(3000, 2000, 750, 500)] // 1/4
    [InlineData(500, 375, 500, 375)] // small photos decode as they are
    public void TryDecode_Jpeg_SmallestDctScaleWhoseShorterSideCoversTarget(int width, int height, int expectedWidth, int expectedHeight)
    {
        var decoder = new SkiaImageDecoder(ImageLimits.Default);

        Assert.True(decoder.TryDecode(HandMadeImages.GrayJpeg(width, height), ImageFormat.Jpeg, 256, out var image, out var error), error?.ToString());

        using (image)
        {
            Assert.Equal((expectedWidth, expectedHeight), (image.Width, image.Height));
        }
    }

    [Fact]
    public void TryPreprocess_HundredMegapixelJpeg_LabeledFromOneEighthScale()
    {
        var preprocessor = new ImagePreprocessor(MobileNet224);
        var jpeg = HandMadeImages.GrayJpeg(12_000, 8_400);
        var tensor = new float[preprocessor.TensorLength];
        preprocessor.TryPreprocess(HandMadeImages.GrayJpeg(64, 64), tensor, out _); // warm up the pool and JIT
        var before = GC.GetAllocatedBytesForCurrentThread();

        var ok = preprocessor.TryPreprocess(jpeg, tensor, out var error);

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(ok, error?.ToString());
        // 1500x1050 RGBX decoded (6.3 MB) instead of 100.8 million pixels (403 MB).
        Assert.True(allocated < 16_000_000, $"allocated {allocated} bytes labeling a 100-megapixel JPEG");
        // The diagonal gradient survives: top-left dark, bottom-right light.
        Assert.True(tensor[0] < tensor[(224 * 224) - 1], "gradient lost");
    }

    [Fact]
    public void TryPreprocess_JpegDeclaringFormatMaximum_RefusedFromHeader()
    {
        // JPEG stores sizes in 16 bits: 65,535 a side is the most a JPEG can declare (70,000 is not expressible).
        var preprocessor = new ImagePreprocessor(MobileNet224);
        Assert.False(preprocessor.TryPreprocess(HandMadeImages.GrayJpeg(65_535, 65_535, headerOnly: true), new float[preprocessor.TensorLength], out var error));
        Assert.Equal(ImageErrorCodes.TooLarge, error.Code);
        Assert.Contains("65535x65535", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TryPreprocess_PngDeclaring70000Squared_TooLargePerSide()
    {
        var preprocessor = new ImagePreprocessor(MobileNet224);
        Assert.False(preprocessor.TryPreprocess(HandMadeImages.PngWithClaimedSize(70_000, 70_000), new float[preprocessor.TensorLength], out var error));
        Assert.Equal(ImageErrorCodes.TooLarge, error.Code);
        Assert.Contains("70000x70000", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TryPreprocess_PngOverDecodedPixelLimit_RefusedWhileScaledJpegOfSameSizeIsLabeled()
    {
        // A PNG cannot be decoded at a reduced size: its declared pixels are what decoding costs.
        var limits = new ImageLimits { MaxDecodedPixels = 2_000_000 };
        var preprocessor = new ImagePreprocessor(MobileNet224, limits);
        var tensor = new float[preprocessor.TensorLength];

        Assert.False(preprocessor.TryPreprocess(HandMadeImages.PngWithClaimedSize(2_000, 1_500), tensor, out var pngError));
        Assert.Equal(ImageErrorCodes.TooLarge, pngError.Code);
        Assert.True(preprocessor.TryPreprocess(HandMadeImages.GrayJpeg(2_000, 1_500), tensor, out var jpegError), jpegError?.ToString());
    }

    [Fact]
    public void TryPreprocess_AdobeRgbJpegWithIccProfile_ColoursConvertedToSrgb()
    {
        (byte R, byte G, byte B) adobe = (60, 170, 90);
        var jpeg = SkiaTestImages.Encode(SKEncodedImageFormat.Jpeg, 32, 32, adobe, SKColorSpace.CreateRgb(SKColorSpaceTransferFn.TwoDotTwo, SKColorSpaceXyz.AdobeRgb));
        var expected = SkiaTestImages.AdobeRgbToSrgb(adobe);
        Assert.True(Math.Abs(expected.G - adobe.G) + Math.Abs(expected.R - adobe.R) > 20, "test colour too close to its sRGB value to tell");

        var skia = SkiaTestImages.PixelAt(new ImagePreprocessor(Tiny), jpeg, 8, 8);
        var unmanaged = SkiaTestImages.PixelAt(new ImagePreprocessor(Tiny, decoder: ImageDecoderKind.ImageSharp), jpeg, 8, 8);

        SkiaTestImages.AssertClose(expected, skia, tolerance: 3);
        // ImageSharp 2.1 ignores the profile: the raw Adobe RGB values, i.e. wrong colours for the model.
        SkiaTestImages.AssertClose(adobe, unmanaged, tolerance: 3);
    }

    [Fact]
    public void TryPreprocess_DisplayP3Png_ColoursConvertedToSrgb()
    {
        (byte R, byte G, byte B) p3 = (200, 80, 60);
        var png = SkiaTestImages.Encode(SKEncodedImageFormat.Png, 32, 32, p3, SKColorSpace.CreateRgb(SKColorSpaceTransferFn.Srgb, SKColorSpaceXyz.DisplayP3));

        var skia = SkiaTestImages.PixelAt(new ImagePreprocessor(Tiny), png, 8, 8);

        // P3's red primary lies outside sRGB: a saturated P3 red is a redder-than-stored sRGB value.
        Assert.True(skia.R > p3.R + 10, $"P3 red {p3} decoded as {skia}: the profile was not applied");
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void TryPreprocess_TruncatedOrCorrupt_TypedErrorNeverThrows(string format)
    {
        var preprocessor = new ImagePreprocessor(Tiny);
        var bytes = SkiaTestImages.NoisyImage(format);
        var tensor = new float[preprocessor.TensorLength];

        foreach (var length in new[] { 1, 8, 16, 40, bytes.Length / 4, bytes.Length / 2, bytes.Length * 3 / 4 })
        {
            var ok = preprocessor.TryPreprocess(bytes.AsSpan(0, length), tensor, out var error);
            // Cut before the end of the pixel data: never a tensor from half an image.
            Assert.False(ok, $"{format} cut to {length} of {bytes.Length} bytes gave a tensor");
            Assert.True(error!.Code is ImageErrorCodes.CorruptImage or ImageErrorCodes.UnsupportedFormat, $"{length} bytes: {error}");
            Assert.False(string.IsNullOrWhiteSpace(error.Reason));
        }

        var random = new Random(7);
        for (var round = 0; round < 20; round++)
        {
            var corrupt = (byte[])bytes.Clone();
            for (var i = 0; i < 16; i++)
            {
                corrupt[random.Next(20, corrupt.Length)] = (byte)random.Next(256);
            }

            // Flipped bytes may still decode (to garbage): either outcome is fine, an exception is not.
            var ok = preprocessor.TryPreprocess(corrupt, tensor, out var error);
            Assert.True(ok || error!.Code is ImageErrorCodes.CorruptImage or ImageErrorCodes.UnsupportedFormat or ImageErrorCodes.TooLarge, $"round {round}: {error}");
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void TryPreprocess_SkiaAndImageSharp_SameImageSameTensor(string format)
    {
        var bytes = SkiaTestImages.NoisyImage(format, smooth: true);
        var skia = new ImagePreprocessor(MobileNet224);
        var imageSharp = new ImagePreprocessor(MobileNet224, decoder: ImageDecoderKind.ImageSharp);
        var a = new float[skia.TensorLength];
        var b = new float[skia.TensorLength];

        Assert.True(skia.TryPreprocess(bytes, a, out var errorA), errorA?.ToString());
        Assert.True(imageSharp.TryPreprocess(bytes, b, out var errorB), errorB?.ToString());

        // Same pixels, same resampler: only the decoders' IDCT/upsampling rounding differs (a level or two of 255).
        var meanDifference = a.Zip(b, (x, y) => Math.Abs(x - y)).Average();
        Assert.True(meanDifference < 0.03, $"{format}: mean difference {meanDifference:F4} (normalised units)");
    }

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xD8, 0xFF, 0xE0 }, ImageFormat.Jpeg)]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, ImageFormat.Png)]
    [InlineData(new byte[] { 0x47, 0x49, 0x46, 0x38, 0x39, 0x61 }, ImageFormat.Gif)]
    [InlineData(new byte[] { 0x52, 0x49, 0x46, 0x46, 0, 0, 0, 0, 0x57, 0x45, 0x42, 0x50 }, ImageFormat.WebP)]
    [InlineData(new byte[] { 0x49, 0x49, 0x2A, 0x00 }, ImageFormat.Tiff)]
    [InlineData(new byte[] { 0x4D, 0x4D, 0x00, 0x2A }, ImageFormat.Tiff)]
    [InlineData(new byte[] { 0x42, 0x4D, 1, 2, 3, 4, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0 }, ImageFormat.Bmp)]
    [InlineData(new byte[] { 0x42, 0x4D, 0x20, 0x69, 0x73, 0x20, 0x74, 0x65, 0x78, 0x74, 0x20, 0x6E, 0x6F, 0x74, 0x20, 0x61, 0x6E, 0x20 }, ImageFormat.Unknown)]
    [InlineData(new byte[] { 0x52, 0x49, 0x46, 0x46, 0, 0, 0, 0, 0x57, 0x41, 0x56, 0x45 }, ImageFormat.Unknown)]
    [InlineData(new byte[] { 0xFF, 0xD8 }, ImageFormat.Unknown)]
    public void Sniff_Signature_Format(byte[] header, ImageFormat expected)
    {
        Assert.Equal(expected, ImageFormatSniffer.Sniff(header));
    }
}
