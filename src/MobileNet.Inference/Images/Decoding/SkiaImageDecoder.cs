using System.Diagnostics.CodeAnalysis;
using SkiaSharp;

namespace MobileNet.Inference.Decoding;

/// <summary>
/// JPEG, PNG, GIF (first frame), BMP and WebP through SkiaSharp's <see cref="SKCodec"/>: the header is read first,
/// JPEG and WebP decode straight to the smallest scale (1/8, 1/4, 1/2) whose shorter side still covers the resize
/// target, embedded ICC profiles (Adobe RGB, Display P3, CMYK) are converted to sRGB by skcms, and pixels land in a
/// pooled buffer. Thread-safe: one codec per call.
/// </summary>
/// <param name="limits">The limits every decode obeys.</param>
/// <param name="transcodeProgressive">
/// Decode a progressive JPEG that is decoded at 1/8 scale from a baseline file of the coefficients that scale reads
/// (same pixels, a fraction of the work and memory; see <see cref="ProgressiveJpegTranscoder"/>). Off only in tests that
/// compare with the whole file.
/// </param>
internal sealed class SkiaImageDecoder(ImageLimits limits, bool transcodeProgressive = true) : IImageDecoder
{
    private static readonly float[] Scales = [0.125f, 0.25f, 0.5f];
    private static readonly SKColorSpace Srgb = SKColorSpace.CreateSrgb();

    static SkiaImageDecoder() => NativeHeapTuning.Apply();

    public static bool Decodes(ImageFormat format) =>
        format is ImageFormat.Jpeg or ImageFormat.Png or ImageFormat.Gif or ImageFormat.Bmp or ImageFormat.WebP;

    public bool TryDecode(
        ReadOnlySpan<byte> encoded, ImageFormat format, int minShorterSide,
        [NotNullWhen(true)] out DecodedImage? image, [NotNullWhen(false)] out ImageError? error)
    {
        image = null;
        long coefficientBytes = 0;
        int declaredWidth = 0, declaredHeight = 0, components = 0;
        if (format == ImageFormat.Jpeg && JpegFrameHeader.TryRead(encoded, out declaredWidth, out declaredHeight, out components, out var progressive))
        {
            if (limits.CheckDeclaredSize(declaredWidth, declaredHeight) is { } jpegError)
            {
                error = jpegError;
                return false;
            }

            // libjpeg-turbo buffers a progressive image's coefficients whole: 2 bytes each, every component at most full size.
            coefficientBytes = progressive ? 2L * declaredWidth * declaredHeight * Math.Max(1, components) : 0;
        }

        int eighthWidth = (declaredWidth + 7) / 8, eighthHeight = (declaredHeight + 7) / 8;
        if (coefficientBytes > 0 && transcodeProgressive && Math.Min(eighthWidth, eighthHeight) >= minShorterSide
            && limits.CheckDecodedSize(declaredWidth, declaredHeight, eighthWidth, eighthHeight) is null)
        {
            // At 1/8: as a baseline file of the coefficients that scale reads (no whole-image coefficient buffer).
            using var transcoding = DecodeMemoryGate.Shared.Reserve(ProgressiveJpegTranscoder.WorkingBytes(encoded));
            if (ProgressiveJpegTranscoder.TryTranscode(encoded, out var baseline, out var baselineLength))
            {
                try
                {
                    if (TryDecodeReserved(baseline.AsSpan(0, baselineLength), format, minShorterSide, out image, out error))
                    {
                        return true;
                    }

                    // Not expected; whatever went wrong, the original file decides what the error is.
                }
                finally
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(baseline);
                }
            }
        }

        using var reservation = DecodeMemoryGate.Shared.Reserve(coefficientBytes);
        return TryDecodeReserved(encoded, format, minShorterSide, out image, out error);
    }

    private unsafe bool TryDecodeReserved(
        ReadOnlySpan<byte> encoded, ImageFormat format, int minShorterSide,
        [NotNullWhen(true)] out DecodedImage? image, [NotNullWhen(false)] out ImageError? error)
    {
        image = null;
        fixed (byte* pointer = encoded)
        {
            // Wraps the caller's bytes without copying; the codec is disposed before the span is unpinned.
            using var data = SKData.Create((IntPtr)pointer, encoded.Length);
            // The codec takes ownership of the stream (freed with it, or by Skia when no codec is made).
            using var codec = SKCodec.Create(new SKMemoryStream(data), out var created);
            if (codec is null)
            {
                error = created switch
                {
                    SKCodecResult.IncompleteInput => new ImageError(ImageErrorCodes.CorruptImage, $"truncated {Name(format)} header"),
                    SKCodecResult.Unimplemented => new ImageError(ImageErrorCodes.UnsupportedFormat, $"unsupported {Name(format)} variant"),
                    _ => new ImageError(ImageErrorCodes.CorruptImage, $"invalid {Name(format)} header ({Describe(created)})"),
                };
                return false;
            }

            var info = codec.Info;
            if (limits.CheckDeclaredSize(info.Width, info.Height) is { } declaredError)
            {
                error = declaredError;
                return false;
            }

            var size = ChooseScale(codec, format, minShorterSide);
            if (limits.CheckDecodedSize(info.Width, info.Height, size.Width, size.Height) is { } decodedError)
            {
                error = decodedError;
                return false;
            }

            var opaque = info.AlphaType == SKAlphaType.Opaque;
            var target = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, opaque ? SKAlphaType.Opaque : SKAlphaType.Premul, Srgb);
            var pixels = PixelBufferPool.Rent(size.Width, size.Height);
            var decoded = new DecodedImage(pixels, size.Width, size.Height);
            try
            {
                SKCodecResult result;
                fixed (byte* destination = pixels)
                {
                    result = codec.GetPixels(target, (IntPtr)destination, target.RowBytes, new SKCodecOptions(0));
                }

                if (result == SKCodecResult.InvalidScale && (size.Width != info.Width || size.Height != info.Height))
                {
                    // A scale the header promised but the decoder refused: decode at full size (still within limits?).
                    decoded.Dispose();
                    return TryDecodeReserved(encoded, format, int.MaxValue, out image, out error);
                }

                if (result != SKCodecResult.Success)
                {
                    decoded.Dispose();
                    error = result switch
                    {
                        SKCodecResult.IncompleteInput => new ImageError(ImageErrorCodes.CorruptImage, $"truncated {Name(format)}: the image data ends early"),
                        SKCodecResult.Unimplemented => new ImageError(ImageErrorCodes.UnsupportedFormat, $"unsupported {Name(format)} feature"),
                        _ => new ImageError(ImageErrorCodes.CorruptImage, $"{Name(format)} decoding failed ({Describe(result)})"),
                    };
                    return false;
                }

                if (!opaque)
                {
                    CompositeOnWhite(pixels.AsSpan(0, size.Width * size.Height * DecodedImage.BytesPerPixel));
                }

                var orientation = ExifOrientationExtensions.FromTag((int)codec.EncodedOrigin);
                if (format == ImageFormat.Png && orientation == ExifOrientation.TopLeft)
                {
                    orientation = PngExifOrientation.Read(encoded);
                }

                image = DecodedImage.Orient(decoded, orientation);
                error = null;
                return true;
            }
            catch
            {
                decoded.Dispose();
                throw;
            }
        }
    }

    private static SKSizeI ChooseScale(SKCodec codec, ImageFormat format, int minShorterSide)
    {
        var full = codec.Info.Size;
        if (format is not (ImageFormat.Jpeg or ImageFormat.WebP))
        {
            return full;
        }

        foreach (var scale in Scales)
        {
            var scaled = codec.GetScaledDimensions(scale);
            if (scaled.Width > 0 && scaled.Height > 0 && Math.Min(scaled.Width, scaled.Height) >= minShorterSide)
            {
                return scaled;
            }
        }

        return full;
    }

    /// <summary>Premultiplied RGBA over opaque white: c' = c + 255 - alpha (exact in 8 bits, no rounding).</summary>
    private static void CompositeOnWhite(Span<byte> rgba)
    {
        for (var i = 0; i < rgba.Length; i += 4)
        {
            var transparency = 255 - rgba[i + 3];
            if (transparency != 0)
            {
                rgba[i] = (byte)Math.Min(255, rgba[i] + transparency);
                rgba[i + 1] = (byte)Math.Min(255, rgba[i + 1] + transparency);
                rgba[i + 2] = (byte)Math.Min(255, rgba[i + 2] + transparency);
                rgba[i + 3] = 255;
            }
        }
    }

    private static string Name(ImageFormat format) => format == ImageFormat.Jpeg ? "JPEG" : format == ImageFormat.WebP ? "WebP" : format.ToString().ToUpperInvariant();

    private static string Describe(SKCodecResult result) => result switch
    {
        SKCodecResult.ErrorInInput => "the data is corrupt",
        SKCodecResult.InvalidInput => "invalid data",
        SKCodecResult.InvalidConversion => "a colour conversion the decoder cannot do",
        SKCodecResult.Unimplemented => "a format feature the decoder lacks",
        SKCodecResult.IncompleteInput => "the data ends early",
        _ => result.ToString(),
    };
}
