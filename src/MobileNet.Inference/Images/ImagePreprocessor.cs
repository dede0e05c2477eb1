using System.Diagnostics.CodeAnalysis;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Advanced;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace MobileNet.Inference;

/// <summary>
/// Turns untrusted encoded image bytes into one normalised input tensor for a model. Thread-safe.
/// Steps: identify the header and refuse by byte/pixel limits (a decompression bomb costs only its header); decode the
/// first frame (JPEG, PNG, BMP, GIF, TIFF, WebP) to RGBA; apply the EXIF orientation; resize (bilinear, torchvision-style
/// shorter side to round(size / 0.875), truncating the longer side) and center-crop; composite any transparency on
/// WHITE; scale, subtract mean, divide by std; write NCHW or NHWC, RGB or BGR. Every decoder failure comes back as an
/// <see cref="ImageError"/>; no decoder exception escapes.
/// </summary>
public sealed class ImagePreprocessor
{
    private readonly ModelDescription description;
    private readonly Configuration configuration;
    private readonly float[] multiply = new float[3];
    private readonly float[] add = new float[3];

    public ImagePreprocessor(ModelDescription description, ImageLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(description);
        this.description = description;
        Limits = limits ?? ImageLimits.Default;
        Limits.Validate();
        configuration = CreateConfiguration(Limits);
        for (var c = 0; c < 3; c++)
        {
            // (v * scale - mean) / std == v * (scale / std) - mean / std
            multiply[c] = description.Scale / description.Std[c];
            add[c] = -description.Mean[c] / description.Std[c];
        }
    }

    public ImageLimits Limits { get; }

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

        try
        {
            if (!TryDecode(encoded, out var image, out error))
            {
                return false;
            }

            using var decoded = image;
            ResizeAndCrop(image);
            WriteTensor(image, destination);
            error = null;
            return true;
        }
        catch (UnknownImageFormatException)
        {
            error = Unsupported();
        }
        catch (InvalidImageContentException ex)
        {
            error = new ImageError(ImageErrorCodes.CorruptImage, OneLine(ex.Message));
        }
        catch (ImageFormatException ex)
        {
            error = new ImageError(ImageErrorCodes.CorruptImage, OneLine(ex.Message));
        }
        catch (NotSupportedException ex)
        {
            error = new ImageError(ImageErrorCodes.UnsupportedFormat, $"unsupported image feature: {OneLine(ex.Message)}");
        }
        catch (Exception ex) when (ex is InvalidMemoryOperationException or OutOfMemoryException)
        {
            error = new ImageError(ImageErrorCodes.TooLarge, "decoding needs more memory than the decoder limit allows");
        }
#pragma warning disable CA1031 // Untrusted input: decoders can fail in unforeseen ways (index/argument errors on crafted files); each becomes an error row.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            error = new ImageError(ImageErrorCodes.CorruptImage, $"decoder failed: {ex.GetType().Name}: {OneLine(ex.Message)}");
        }

        return false;
    }

    internal static ImageError TooManyBytes(long length, long max) =>
        new(ImageErrorCodes.TooLarge, $"{length} bytes is over the {max}-byte limit");

    private unsafe bool TryDecode(ReadOnlySpan<byte> encoded, [NotNullWhen(true)] out Image<Rgba32>? image, [NotNullWhen(false)] out ImageError? error)
    {
        image = null;
        fixed (byte* pointer = encoded)
        {
            using var stream = new UnmanagedMemoryStream(pointer, encoded.Length);
            var info = Image.Identify(configuration, stream, out _);
            if (info is null)
            {
                error = Unsupported();
                return false;
            }

            var pixels = (long)info.Width * info.Height;
            if (info.Width <= 0 || info.Height <= 0)
            {
                error = new ImageError(ImageErrorCodes.CorruptImage, $"invalid image size {info.Width}x{info.Height}");
                return false;
            }

            if (pixels > Limits.MaxPixels || info.Width > Limits.MaxDimension || info.Height > Limits.MaxDimension)
            {
                error = new ImageError(ImageErrorCodes.TooLarge, $"{info.Width}x{info.Height} pixels is over the limit ({Limits.MaxPixels} pixels, {Limits.MaxDimension} per side)");
                return false;
            }

            stream.Position = 0;
            image = Image.Load<Rgba32>(configuration, stream);
            error = null;
            return true;
        }
    }

    private void ResizeAndCrop(Image<Rgba32> image)
    {
        int width = description.Width, height = description.Height;
        var orientation = OrientationOf(image);
        if (description.Resize == ResizePolicy.Stretch)
        {
            // Rotating first would cost a full-size copy; resizing to the pre-rotation size and orienting after is identical.
            var swap = orientation >= 5;
            image.Mutate(x => x.Resize(new ResizeOptions
            {
                Size = swap ? new Size(height, width) : new Size(width, height),
                Mode = ResizeMode.Stretch,
                Sampler = KnownResamplers.Triangle,
            }).AutoOrient());
            return;
        }

        // torchvision Resize(S): shorter side -> S, longer side -> int(S * long / short); then CenterCrop with
        // top = int(round((h - H) / 2)). Computed in the displayed (oriented) frame; applied before orienting.
        var target = (int)Math.Round(Math.Max(width, height) / description.CropFraction, MidpointRounding.ToEven);
        var (w, h) = orientation >= 5 ? (image.Height, image.Width) : (image.Width, image.Height);
        int resizedW, resizedH;
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
        var left = (int)Math.Round((resizedW - width) / 2.0, MidpointRounding.ToEven);
        var top = (int)Math.Round((resizedH - height) / 2.0, MidpointRounding.ToEven);
        var swapped = orientation >= 5;
        image.Mutate(x =>
        {
            x.Resize(new ResizeOptions
            {
                Size = swapped ? new Size(resizedH, resizedW) : new Size(resizedW, resizedH),
                Mode = ResizeMode.Stretch,
                Sampler = KnownResamplers.Triangle,
            });
            x.AutoOrient();
            x.Crop(new Rectangle(left, top, width, height));
        });
    }

    private static int OrientationOf(Image image)
    {
        var exif = image.Metadata.ExifProfile;
        if (exif is null)
        {
            return 1;
        }

        var value = exif.GetValue(SixLabors.ImageSharp.Metadata.Profiles.Exif.ExifTag.Orientation);
        return value is null ? 1 : value.Value is >= 1 and <= 8 ? value.Value : 1;
    }

    private void WriteTensor(Image<Rgba32> image, Span<float> destination)
    {
        int width = description.Width, height = description.Height, plane = width * height;
        var nchw = description.Layout == TensorLayout.Nchw;
        // Output channel k takes source channel k (RGB) or 2 - k (BGR).
        var bgr = description.ChannelOrder == ChannelOrder.Bgr;
        float m0 = multiply[0], m1 = multiply[1], m2 = multiply[2], a0 = add[0], a1 = add[1], a2 = add[2];
        for (var y = 0; y < height; y++)
        {
            var row = image.DangerousGetPixelRowMemory(y).Span;
            for (var x = 0; x < width; x++)
            {
                var p = row[x];
                float r = p.R, g = p.G, b = p.B;
                if (p.A != 255)
                {
                    // Composite on white: c' = c * alpha + 255 * (1 - alpha).
                    var alpha = p.A / 255f;
                    var white = 255f * (1f - alpha);
                    r = (r * alpha) + white;
                    g = (g * alpha) + white;
                    b = (b * alpha) + white;
                }

                if (bgr)
                {
                    (r, b) = (b, r);
                }

                // mean/std are given in the model's channel order.
                float v0 = (r * m0) + a0, v1 = (g * m1) + a1, v2 = (b * m2) + a2;

                var pixel = (y * width) + x;
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

    private static Configuration CreateConfiguration(ImageLimits limits)
    {
        // A private configuration: only the six supported formats, first frame only, single-threaded per image (the
        // pipeline decodes several images in parallel), and a bounded, pooled allocator so buffers are reused.
        var configuration = new Configuration(
            new JpegConfigurationModule(),
            new PngConfigurationModule(),
            new BmpConfigurationModule(),
            new GifConfigurationModule(),
            new TiffConfigurationModule(),
            new WebpConfigurationModule())
        {
            MaxDegreeOfParallelism = 1,
            MemoryAllocator = MemoryAllocator.Create(new MemoryAllocatorOptions
            {
                MaximumPoolSizeMegabytes = limits.DecoderPoolMegabytes,
                AllocationLimitMegabytes = limits.DecoderAllocationLimitMegabytes,
            }),
        };
        configuration.ImageFormatsManager.SetDecoder(GifFormat.Instance, new GifDecoder { DecodingMode = FrameDecodingMode.First });
        configuration.ImageFormatsManager.SetDecoder(TiffFormat.Instance, new TiffDecoder { DecodingMode = FrameDecodingMode.First });
        return configuration;
    }

    private static ImageError Unsupported() =>
        new(ImageErrorCodes.UnsupportedFormat, "not a supported image (JPEG, PNG, BMP, GIF, TIFF, WebP)");

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
