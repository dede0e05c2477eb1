using System.Buffers;
using MobileNet.Inference.Decoding;
using SkiaSharp;

namespace MobileNet.Inference.Tests;

/// <summary>
/// Progressive JPEGs decoded at 1/8 from a baseline file of the coefficients that scale reads: the same pixels as
/// libjpeg-turbo's decode of the whole file, on every sampling, scan script and restart layout, and no exception on
/// damaged files. The small JPEGs under Resources/progressive come from scripts/make-progressive-test-jpegs.sh.
/// </summary>
public sealed class ProgressiveJpegTranscoderTests
{
    /// <summary>333x251: 1/8 gives 42x32, so a target of 32 decodes every resource at 1/8.</summary>
    private const int OneEighthTarget = 32;

    public static TheoryData<string> Transcoded =>
    [
        "p444", "p422", "p440", "p411", "p420", "p410", "grey", "p444-restart-rows", "p422-restart-blocks", "p444-split-dc",
        "p422-split-dc-restart", "p420-restart", "p420-chroma-split", "p420-chroma-split-restart",
    ];

    [Theory]
    [MemberData(nameof(Transcoded))]
    public void TryTranscode_ProgressiveResource_SamePixelsAsTheWholeFile(string name)
    {
        var jpeg = Resource(name);

        Assert.True(ProgressiveJpegTranscoder.TryTranscode(jpeg, out var baseline, out var length), $"{name} was not transcoded");
        ArrayPool<byte>.Shared.Return(baseline);
        Assert.True(length < jpeg.Length / 2, $"{name}: {length} bytes from {jpeg.Length}");
        AssertSamePixelsAsWholeFile(jpeg, OneEighthTarget);
    }

    [Theory]
    [InlineData(1, 1, 1, 1, false)] // greyscale, and every component of 4:4:4
    [InlineData(1, 1, 2, 1, false)] // 4:2:2 chroma: upsampled across, 1x1 IDCT
    [InlineData(1, 1, 1, 2, false)] // 4:4:0 chroma
    [InlineData(1, 1, 4, 1, false)] // 4:1:1 chroma
    [InlineData(2, 2, 2, 2, false)] // 4:2:0 luma
    [InlineData(1, 1, 2, 2, true)] // 4:2:0 chroma: 2x2 IDCT
    [InlineData(1, 1, 4, 2, true)] // 4:1:0 chroma
    public void KeepsAc_Sampling_OnlyComponentsScaledUpByIdct(int h, int v, int maxH, int maxV, bool expected)
    {
        Assert.Equal(expected, ProgressiveJpegTranscoder.KeepsAc(h, v, maxH, maxV));
    }

    [Theory]
    [InlineData(1, 1, 1, 1, 1)]
    [InlineData(1, 1, 2, 1, 1)] // 4:2:2 chroma: the upsampler doubles it across
    [InlineData(1, 1, 2, 2, 2)] // 4:2:0 chroma
    [InlineData(1, 1, 4, 2, 2)] // 4:1:0 chroma: 2x2, then upsampled across
    [InlineData(1, 1, 4, 4, 4)]
    [InlineData(2, 2, 4, 4, 2)]
    public void IdctSize_Sampling_AsLibjpegTurboPicksAtOneEighth(int h, int v, int maxH, int maxV, int expected)
    {
        Assert.Equal(expected, ProgressiveJpegTranscoder.IdctSize(h, v, maxH, maxV));
    }

    [Theory]
    [InlineData(1, new[] { 0 })]
    [InlineData(2, new[] { 0, 1, 3, 5, 7 })]
    [InlineData(4, new[] { 0, 1, 2, 3, 5, 6, 7 })]
    public void ReadCoefficients_IdctSize_TheRowsAndColumnsTheReducedIdctReads(int idctSize, int[] rowsAndColumns)
    {
        var expected = rowsAndColumns.SelectMany(row => rowsAndColumns.Select(column => (row * 8) + column)).Order();

        var read = ProgressiveJpegTranscoder.ReadCoefficients(idctSize).Select(k => (int)ProgressiveJpegTranscoder.NaturalOrder[k]).Order();

        Assert.Equal(expected, read);
    }

    [Fact]
    public void TryTranscode_IccProfileAndExifOrientation_CarriedIntoTheBaselineFile()
    {
        // An Adobe RGB profile (from a Skia-encoded JPEG) and EXIF orientation 6 spliced in after SOI: the whole-file
        // decode converts colours and rotates, so equal pixels mean the baseline file kept both.
        var adobe = SkiaTestImages.Encode(SKEncodedImageFormat.Jpeg, 16, 16, (60, 170, 90), SKColorSpace.CreateRgb(SKColorSpaceTransferFn.TwoDotTwo, SKColorSpaceXyz.AdobeRgb));
        var icc = Segments(adobe).Single(s => s[1] == 0xE2 && s.AsSpan(4).StartsWith("ICC_PROFILE"u8));
        byte[] exif =
        [
            0xFF, 0xE1, 0x00, 0x22, .. "Exif"u8, 0, 0,
            .. "II"u8, 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00, // little-endian TIFF header, first IFD at 8
            0x01, 0x00, 0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, // Orientation = 6
            0x00, 0x00, 0x00, 0x00,
        ];
        var plain = Resource("p444");
        byte[] jpeg = [.. plain.AsSpan(0, 2), .. exif, .. icc, .. plain.AsSpan(2)];

        Assert.True(ProgressiveJpegTranscoder.TryTranscode(jpeg, out var baseline, out _));
        ArrayPool<byte>.Shared.Return(baseline);
        var rotated = AssertSamePixelsAsWholeFile(jpeg, OneEighthTarget);
        Assert.Equal((32, 42), rotated);
        var unrotated = AssertSamePixelsAsWholeFile(plain, OneEighthTarget);
        Assert.Equal((42, 32), unrotated);
    }

    [SkippableFact]
    public void TryDecode_LargeProgressiveFixturePhotos_SamePixelsAsTheWholeFile()
    {
        var progressive = Directory.GetFiles(Path.Combine(TestFixtures.RequireRoot(), "photos", "large"))
            .Select(File.ReadAllBytes)
            .Where(bytes => JpegFrameHeader.TryRead(bytes, out _, out _, out _, out var isProgressive) && isProgressive)
            .ToList();
        Skip.If(progressive.Count == 0, "no progressive JPEG among the large fixture photos");
        foreach (var jpeg in progressive)
        {
            var eligible = ProgressiveJpegTranscoder.TryTranscode(jpeg, out var baseline, out var length);
            if (eligible)
            {
                ArrayPool<byte>.Shared.Return(baseline);
                Assert.True(length < jpeg.Length / 5, $"transcoded to {length} of {jpeg.Length} bytes");
            }

            AssertSamePixelsAsWholeFile(jpeg, 256);
        }
    }

    [Theory]
    [MemberData(nameof(Transcoded))]
    public void TryDecode_DamagedProgressive_ImageOrTypedErrorNeverThrows(string name)
    {
        // Bytes overwritten across the file (headers, DC scans, AC scans) and cuts at many offsets: the transcoder gives
        // up or transcodes, without throwing; the decoder answers an image or a typed error.
        var jpeg = Resource(name);
        var random = new Random(name.GetHashCode(StringComparison.Ordinal) & 0x7FFF);
        var decoder = new SkiaImageDecoder(ImageLimits.Default);
        for (var trial = 0; trial < 400; trial++)
        {
            byte[] damaged;
            if (trial % 3 == 0)
            {
                damaged = jpeg[..random.Next(2, jpeg.Length)];
            }
            else
            {
                damaged = (byte[])jpeg.Clone();
                for (var flips = random.Next(1, 4); flips > 0; flips--)
                {
                    damaged[random.Next(2, damaged.Length)] = (byte)random.Next(256);
                }
            }

            if (ProgressiveJpegTranscoder.TryTranscode(damaged, out var baseline, out _))
            {
                ArrayPool<byte>.Shared.Return(baseline);
            }

            if (decoder.TryDecode(damaged, ImageFormat.Jpeg, OneEighthTarget, out var image, out var error))
            {
                image.Dispose();
            }
            else
            {
                Assert.False(string.IsNullOrWhiteSpace(error.Reason));
            }
        }
    }

    private static (int Width, int Height) AssertSamePixelsAsWholeFile(byte[] jpeg, int target)
    {
        Assert.True(new SkiaImageDecoder(ImageLimits.Default).TryDecode(jpeg, ImageFormat.Jpeg, target, out var fast, out var fastError), fastError?.ToString());
        Assert.True(new SkiaImageDecoder(ImageLimits.Default, transcodeProgressive: false).TryDecode(jpeg, ImageFormat.Jpeg, target, out var whole, out var wholeError), wholeError?.ToString());
        using (fast)
        using (whole)
        {
            Assert.Equal((whole.Width, whole.Height), (fast.Width, fast.Height));
            var differing = 0;
            for (var i = 0; i < whole.Width * whole.Height * DecodedImage.BytesPerPixel; i++)
            {
                differing += whole.Pixels[i] != fast.Pixels[i] ? 1 : 0;
            }

            Assert.True(differing == 0, $"{differing} of {whole.Width * whole.Height * DecodedImage.BytesPerPixel} values differ from the whole file's decode");
            return (whole.Width, whole.Height);
        }
    }

    private static byte[] Resource(string name) =>
        File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Resources", "progressive", name + ".jpg"));

    /// <summary>The marker segments before the first scan, each with its marker and length bytes.</summary>
    private static IEnumerable<byte[]> Segments(byte[] jpeg)
    {
        for (var offset = 2; offset + 4 <= jpeg.Length && jpeg[offset] == 0xFF && jpeg[offset + 1] != 0xDA;)
        {
            var length = (jpeg[offset + 2] << 8) | jpeg[offset + 3];
            yield return jpeg[offset..(offset + 2 + length)];
            offset += 2 + length;
        }
    }
}
