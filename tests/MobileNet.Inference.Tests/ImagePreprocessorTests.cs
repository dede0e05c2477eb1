using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace MobileNet.Inference.Tests;

/// <summary>Hostile and unusual images: each becomes a tensor or a typed error, never an exception.</summary>
public sealed class ImagePreprocessorTests
{
    private const int Size = 16;

    private static readonly ModelDescription Tiny = new() { InputName = "input", OutputName = "output", OutputLength = 3, Width = Size, Height = Size };

    private readonly ImagePreprocessor preprocessor = new(Tiny);

    [Fact]
    public void TryPreprocess_ZeroBytes_EmptyFile()
    {
        AssertError(ImageErrorCodes.EmptyFile, []);
    }

    [Fact]
    public void TryPreprocess_TextNamedJpg_UnsupportedFormat()
    {
        AssertError(ImageErrorCodes.UnsupportedFormat, Encoding.UTF8.GetBytes("this is not a JPEG, just text in a .jpg file\n"));
    }

    [Fact]
    public void TryPreprocess_TruncatedJpeg_ErrorRowOrTensorNeverThrows()
    {
        using var image = new Image<Rgb24>(64, 48);
        image.Mutate(x => x.BackgroundColor(Color.Orange));
        using var stream = new MemoryStream();
        image.SaveAsJpeg(stream);
        var bytes = stream.ToArray();
        foreach (var length in new[] { 2, 20, bytes.Length / 3, bytes.Length / 2, bytes.Length - 2 })
        {
            var ok = preprocessor.TryPreprocess(bytes.AsSpan(0, length), new float[preprocessor.TensorLength], out var error);
            Assert.True(ok || error!.Code is ImageErrorCodes.CorruptImage or ImageErrorCodes.UnsupportedFormat, $"{length} bytes: {error}");
        }

        // Cut inside the header the decoder cannot go on: a typed error with a reason.
        Assert.False(preprocessor.TryPreprocess(bytes.AsSpan(0, 20), new float[preprocessor.TensorLength], out var headerError));
        Assert.False(string.IsNullOrWhiteSpace(headerError.Reason));
    }

    [Fact]
    public void TryPreprocess_PngClaiming100000Squared_TooLargeWithoutAllocating()
    {
        var bomb = HandMadeImages.PngWithClaimedSize(100_000, 100_000);
        var tensor = new float[preprocessor.TensorLength];
        preprocessor.TryPreprocess(TestImages.SolidPng(1, 2, 3), tensor, out _); // warm up
        // This thread's allocations only: process-wide figures would count the tests running beside this one.
        var before = GC.GetAllocatedBytesForCurrentThread();

        var ok = preprocessor.TryPreprocess(bomb, tensor, out var error);

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.False(ok);
        Assert.Equal(ImageErrorCodes.TooLarge, error!.Code);
        Assert.Contains("100000x100000", error.Reason, StringComparison.Ordinal);
        // Refused from the header: a few KB of bookkeeping, not 30 GB of pixels.
        Assert.True(allocated < 1_000_000, $"allocated {allocated} bytes refusing the bomb");
    }

    [Fact]
    public void TryPreprocess_OverByteLimit_TooLarge()
    {
        var small = new ImagePreprocessor(Tiny, new ImageLimits { MaxBytes = 100 });
        var bytes = TestImages.SolidJpeg(10, 20, 30);
        Assert.True(bytes.Length > 100);
        Assert.False(small.TryPreprocess(bytes, new float[small.TensorLength], out var error));
        Assert.Equal(ImageErrorCodes.TooLarge, error.Code);
    }

    [Fact]
    public void TryPreprocess_OverPixelLimit_TooLarge()
    {
        var small = new ImagePreprocessor(Tiny, new ImageLimits { MaxDecodedPixels = 100 });
        Assert.False(small.TryPreprocess(TestImages.SolidPng(1, 2, 3, 11, 10), new float[small.TensorLength], out var error));
        Assert.Equal(ImageErrorCodes.TooLarge, error.Code);
    }

    [Fact]
    public void TryPreprocess_CmykJpeg_ConvertedToRgb()
    {
        // Adobe-inverted CMYK: no cyan, full magenta and yellow, no black = red.
        var tensor = Preprocess(HandMadeImages.CmykJpeg(255, 0, 0, 255));
        AssertPixel(tensor, 0, 0, (255, 0, 0), tolerance: 2);
    }

    [Fact]
    public void TryPreprocess_SixteenBitPng_MatchesEightBit()
    {
        using var wide = new Image<Rgb48>(20, 20, new Rgb48(65535, 32896, 0));
        var sixteen = Preprocess(TestImages.Png(wide, new PngEncoder { BitDepth = PngBitDepth.Bit16, ColorType = PngColorType.Rgb }));
        var eight = Preprocess(TestImages.SolidPng(255, 128, 0, 20, 20));
        AssertClose(eight, sixteen, 0.02f);
    }

    [Fact]
    public void TryPreprocess_AnimatedGif_UsesFirstFrame()
    {
        using var gif = new Image<Rgba32>(20, 20, new Rgba32(255, 0, 0));
        using var blue = new Image<Rgba32>(20, 20, new Rgba32(0, 0, 255));
        gif.Frames.AddFrame(blue.Frames.RootFrame);
        using var stream = new MemoryStream();
        gif.SaveAsGif(stream, new GifEncoder { ColorTableMode = GifColorTableMode.Local });
        using (var decoded = Image.Load<Rgba32>(stream.ToArray()))
        {
            Assert.Equal(2, decoded.Frames.Count);
        }

        AssertPixel(Preprocess(stream.ToArray()), 5, 5, (255, 0, 0), tolerance: 1);
    }

    [Fact]
    public void TryPreprocess_ExifOrientation6_SameTensorAsPreRotatedImage()
    {
        // Asymmetric: top-left quadrant red, rest blue-ish with a gradient, 32 wide x 20 high.
        using var upright = new Image<Rgb24>(20, 32);
        upright.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (var x = 0; x < row.Length; x++)
                {
                    row[x] = x < 10 && y < 16 ? new Rgb24(250, 0, 0) : new Rgb24((byte)(x * 8), (byte)(y * 4), 200);
                }
            }
        });

        // Orientation 6 means "rotate 90 degrees clockwise to display": store the image rotated the other way.
        using var stored = upright.Clone(x => x.Rotate(RotateMode.Rotate270));
        stored.Metadata.ExifProfile = new ExifProfile();
        stored.Metadata.ExifProfile.SetValue(ExifTag.Orientation, (ushort)6);
        var storedBytes = TestImages.Png(stored);
        Assert.Equal((32, 20), (stored.Width, stored.Height));

        var fromExif = Preprocess(storedBytes);
        var fromUpright = Preprocess(TestImages.Png(upright));
        AssertClose(fromUpright, fromExif, 1e-4f);

        stored.Metadata.ExifProfile = null;
        var ignoringExif = Preprocess(TestImages.Png(stored));
        Assert.True(MaxDifference(fromUpright, ignoringExif) > 0.5f, "without the EXIF tag the tensor should differ");
    }

    public static TheoryData<string> OtherFormats => ["bmp", "tiff", "webp-lossless", "webp-lossy"];

    [Theory]
    [MemberData(nameof(OtherFormats))]
    public void TryPreprocess_BmpTiffWebp_DecodesColours(string format)
    {
        using var image = new Image<Rgb24>(20, 20, new Rgb24(200, 40, 90));
        using var stream = new MemoryStream();
        switch (format)
        {
            case "bmp": image.SaveAsBmp(stream); break;
            case "tiff": image.SaveAsTiff(stream); break;
            case "webp-lossless": image.SaveAsWebp(stream, new WebpEncoder { FileFormat = WebpFileFormatType.Lossless }); break;
            default: image.SaveAsWebp(stream, new WebpEncoder { FileFormat = WebpFileFormatType.Lossy, Quality = 95 }); break;
        }

        // Lossy WebP stores chroma at half resolution in YUV: a few levels of drift on a flat colour.
        AssertPixel(Preprocess(stream.ToArray()), 8, 8, (200, 40, 90), tolerance: format == "webp-lossy" ? 6 : 1);
    }

    [Fact]
    public void TryPreprocess_Grayscale_ChannelsEqual()
    {
        using var gray = new Image<L8>(20, 20, new L8(90));
        var tensor = Preprocess(TestImages.Png(gray, new PngEncoder { ColorType = PngColorType.Grayscale }));
        AssertPixel(tensor, 3, 3, (90, 90, 90), tolerance: 1);
    }

    [Fact]
    public void TryPreprocess_PalettePng_DecodesColours()
    {
        using var image = new Image<Rgba32>(20, 20, new Rgba32(0, 255, 0));
        var tensor = Preprocess(TestImages.Png(image, new PngEncoder { ColorType = PngColorType.Palette }));
        AssertPixel(tensor, 8, 8, (0, 255, 0), tolerance: 1);
    }

    [Fact]
    public void TryPreprocess_Transparency_CompositedOnWhite()
    {
        using var transparent = new Image<Rgba32>(20, 20, new Rgba32(255, 0, 0, 0));
        AssertPixel(Preprocess(TestImages.Png(transparent)), 4, 4, (255, 255, 255), tolerance: 1);
        using var half = new Image<Rgba32>(20, 20, new Rgba32(0, 0, 0, 128));
        AssertPixel(Preprocess(TestImages.Png(half)), 4, 4, (127, 127, 127), tolerance: 2);
    }

    [Fact]
    public void TryPreprocess_Nhwc_Bgr_WritesInterleavedSwappedChannels()
    {
        var description = new ModelDescription
        {
            InputName = "input", OutputName = "output", OutputLength = 3, Width = 4, Height = 4,
            Layout = TensorLayout.Nhwc, ChannelOrder = ChannelOrder.Bgr, Mean = [0f, 0f, 0f], Std = [1f, 1f, 1f],
        };
        var nhwc = new ImagePreprocessor(description);
        var tensor = new float[nhwc.TensorLength];
        Assert.True(nhwc.TryPreprocess(TestImages.SolidPng(255, 51, 0, 8, 8), tensor, out var error), error?.ToString());
        Assert.Equal([0f, 0.2f, 1f], tensor[..3].Select(v => MathF.Round(v, 3)));
    }

    [Fact]
    public void TryPreprocess_ShorterSideResizeAndCenterCrop_KeepsCentreDropsEdges()
    {
        // 64 wide x 16 high: red stripes at the far left/right are cropped away; the green centre survives.
        using var image = new Image<Rgb24>(64, 16, new Rgb24(0, 255, 0));
        image.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                row[..8].Fill(new Rgb24(255, 0, 0));
                row[56..].Fill(new Rgb24(255, 0, 0));
            }
        });
        var tensor = Preprocess(TestImages.Png(image));
        for (var x = 0; x < Size; x++)
        {
            AssertPixel(tensor, x, 8, (0, 255, 0), tolerance: 1);
        }
    }

    [Fact]
    public void TryPreprocess_ShortDestination_Throws()
    {
        Assert.Throws<ArgumentException>(() => preprocessor.TryPreprocess(TestImages.SolidPng(1, 2, 3), new float[10], out _));
    }

    private float[] Preprocess(byte[] bytes)
    {
        var tensor = new float[preprocessor.TensorLength];
        Assert.True(preprocessor.TryPreprocess(bytes, tensor, out var error), error?.ToString());
        return tensor;
    }

    private void AssertError(string code, byte[] bytes)
    {
        Assert.False(preprocessor.TryPreprocess(bytes, new float[preprocessor.TensorLength], out var error));
        Assert.Equal(code, error.Code);
        Assert.False(string.IsNullOrWhiteSpace(error.Reason));
    }

    /// <summary>Undoes the ImageNet normalisation at (x, y) of an NCHW tensor and compares with 0..255 RGB.</summary>
    private static void AssertPixel(float[] tensor, int x, int y, (int R, int G, int B) expected, int tolerance)
    {
        const int plane = Size * Size;
        var index = (y * Size) + x;
        var actual = Enumerable.Range(0, 3)
            .Select(c => (int)MathF.Round(((tensor[(c * plane) + index] * Tiny.Std[c]) + Tiny.Mean[c]) * 255f))
            .ToArray();
        Assert.True(
            Math.Abs(actual[0] - expected.R) <= tolerance && Math.Abs(actual[1] - expected.G) <= tolerance && Math.Abs(actual[2] - expected.B) <= tolerance,
            $"pixel ({x},{y}) is ({actual[0]},{actual[1]},{actual[2]}), expected {expected}");
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance)
    {
        var difference = MaxDifference(expected, actual);
        Assert.True(difference <= tolerance, $"tensors differ by up to {difference}");
    }

    private static float MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => MathF.Abs(x - y)).Max();
}
