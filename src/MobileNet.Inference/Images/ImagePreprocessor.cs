using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using MobileNet.Inference.Decoding;
using MobileNet.Inference.Resampling;

namespace MobileNet.Inference;

/// <summary>
/// Turns untrusted encoded image bytes into one normalised input tensor for a model. Thread-safe.
/// Steps: sniff the format from its first bytes; send it to its one decoder (Skia for JPEG, PNG, GIF, BMP and WebP,
/// ImageSharp for TIFF), which reads the header, applies <see cref="ImageLimits"/>, decodes the first frame (JPEG and
/// WebP at the smallest DCT scale that still covers the resize target) converted to sRGB, upright (EXIF orientation)
/// and composited on WHITE; resize with an antialiased triangle filter (torchvision-style: shorter side to
/// round(size / 0.875), truncating the longer side) and center-crop; scale, subtract mean, divide by std; write NCHW or
/// NHWC, RGB or BGR. Every decoder failure comes back as an <see cref="ImageError"/>; no decoder exception escapes.
/// </summary>
public sealed class ImagePreprocessor
{
    private readonly ModelDescription description;
    private readonly IImageDecoder skia;
    private readonly IImageDecoder imageSharp;
    private readonly float[] multiply = new float[3];
    private readonly float[] add = new float[3];

    public ImagePreprocessor(ModelDescription description, ImageLimits? limits = null, ImageDecoderKind decoder = ImageDecoderKind.Skia)
    {
        ArgumentNullException.ThrowIfNull(description);
        this.description = description;
        Limits = limits ?? ImageLimits.Default;
        Limits.Validate();
        Decoder = decoder;
        skia = new SkiaImageDecoder(Limits);
        imageSharp = new ImageSharpImageDecoder(Limits);
        for (var c = 0; c < 3; c++)
        {
            // (v * scale - mean) / std == v * (scale / std) - mean / std
            multiply[c] = description.Scale / description.Std[c];
            add[c] = -description.Mean[c] / description.Std[c];
        }
    }

    public ImageLimits Limits { get; }

    public ImageDecoderKind Decoder { get; }

    public ModelDescription Description => description;

    /// <summary>Floats written per image.</summary>
    public int TensorLength => description.TensorLength;

    /// <summary>The formats this preprocessor decodes; anything else is <see cref="ImageErrorCodes.UnsupportedFormat"/>.</summary>
    public static IReadOnlyList<string> SupportedFormats { get; } = ["JPEG", "PNG", "BMP", "GIF", "TIFF", "WebP"];

    /// <summary>
    /// Decodes <paramref name="encoded"/> and writes <see cref="TensorLength"/> floats to <paramref name="destination"/>.
    /// Returns false with a typed error for anything wrong with the image; throws only for a too-short destination.
    /// </summary>
    public bool TryPreprocess(ReadOnlySpan<byte> encoded, Span<float> destination, [NotNullWhen(false)] out ImageError? error)
    {
        if (destination.Length < TensorLength)
        {
            throw new ArgumentException($"destination holds {destination.Length} floats, needs {TensorLength}", nameof(destination));
        }

        if (encoded.IsEmpty)
        {
            error = new ImageError(ImageErrorCodes.EmptyFile, "the file is empty (0 bytes)");
            return false;
        }

        if (encoded.Length > Limits.MaxBytes)
        {
            error = TooManyBytes(encoded.Length, Limits.MaxBytes);
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
            var decoder = Decoder == ImageDecoderKind.Skia && SkiaImageDecoder.Decodes(format) ? skia : imageSharp;
            if (!decoder.TryDecode(encoded, format, MinShorterSide(), out var image, out error))
            {
                return false;
            }

            using (image)
            {
                ResizeCropAndWrite(image, destination);
            }

            return true;
        }
#pragma warning disable CA1031 // Untrusted input: decoders can fail in unforeseen ways (index/argument errors on crafted files); each becomes an error row.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            error = ex is OutOfMemoryException
                ? new ImageError(ImageErrorCodes.TooLarge, "decoding needs more memory than is available")
                : new ImageError(ImageErrorCodes.CorruptImage, $"decoder failed: {ex.GetType().Name}: {OneLine(ex.Message)}");
            return false;
        }
    }

    internal static ImageError TooManyBytes(long length, long max) =>
        new(ImageErrorCodes.TooLarge, $"{length} bytes is over the {max}-byte limit");

    internal static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    /// <summary>The shorter side the decoded image must keep so that resizing still only shrinks it.</summary>
    private int MinShorterSide() => description.Resize == ResizePolicy.Stretch
        ? Math.Max(description.Width, description.Height)
        : ResizeTarget();

    /// <summary>torchvision Resize(S) with S = round(size / crop fraction), e.g. 256 for 224.</summary>
    private int ResizeTarget() => (int)Math.Round(Math.Max(description.Width, description.Height) / description.CropFraction, MidpointRounding.ToEven);

    private void ResizeCropAndWrite(DecodedImage image, Span<float> destination)
    {
        int width = description.Width, height = description.Height;
        int resizedW = width, resizedH = height, left = 0, top = 0;
        if (description.Resize != ResizePolicy.Stretch)
        {
            // torchvision Resize(S): shorter side -> S, longer side -> int(S * long / short); then CenterCrop with
            // top = int(round((h - H) / 2)).
            var target = ResizeTarget();
            int w = image.Width, h = image.Height;
            if (w <= h)
            {
                resizedW = target;
                resizedH = (int)((long)target * h / w);
            }
            else
            {
                resizedH = target;
                resizedW = (int)((long)target * w / h);
            }

            resizedW = Math.Max(resizedW, width);
            resizedH = Math.Max(resizedH, height);
            left = (int)Math.Round((resizedW - width) / 2.0, MidpointRounding.ToEven);
            top = (int)Math.Round((resizedH - height) / 2.0, MidpointRounding.ToEven);
        }

        var rgb = ArrayPool<float>.Shared.Rent(width * height * 3);
        try
        {
            AntialiasedResampler.ResizeCrop(image.Pixels, image.Width, image.Height, resizedW, resizedH, new CropWindow(left, top, width, height), rgb);
            WriteTensor(rgb, destination);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rgb);
        }
    }

    private void WriteTensor(ReadOnlySpan<float> rgb, Span<float> destination)
    {
        int plane = description.Width * description.Height;
        var nchw = description.Layout == TensorLayout.Nchw;
        // Output channel k takes source channel k (RGB) or 2 - k (BGR); mean/std are given in the model's channel order.
        var bgr = description.ChannelOrder == ChannelOrder.Bgr;
        float m0 = multiply[0], m1 = multiply[1], m2 = multiply[2], a0 = add[0], a1 = add[1], a2 = add[2];
        for (var pixel = 0; pixel < plane; pixel++)
        {
            float r = rgb[pixel * 3], g = rgb[(pixel * 3) + 1], b = rgb[(pixel * 3) + 2];
            if (bgr)
            {
                (r, b) = (b, r);
            }

            float v0 = (r * m0) + a0, v1 = (g * m1) + a1, v2 = (b * m2) + a2;
            if (nchw)
            {
                destination[pixel] = v0;
                destination[plane + pixel] = v1;
                destination[(2 * plane) + pixel] = v2;
            }
            else
            {
                var o = pixel * 3;
                destination[o] = v0;
                destination[o + 1] = v1;
                destination[o + 2] = v2;
            }
        }
    }
}
