using System.Diagnostics.CodeAnalysis;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;

namespace MobileNet.Inference.Decoding;

/// <summary>
/// ImageSharp 2.1.13 (3.x needs a paid licence): TIFF, which Skia cannot decode, and every format when
/// <see cref="ImageDecoderKind.ImageSharp"/> is chosen for comparison. Always decodes at full size (2.1 has no DCT
/// scaling); ICC profiles are not applied. Thread-safe.
/// </summary>
internal sealed class ImageSharpImageDecoder : IImageDecoder
{
    private readonly ImageLimits limits;
    private readonly Configuration configuration;

    public ImageSharpImageDecoder(ImageLimits limits)
    {
        this.limits = limits;
        configuration = CreateConfiguration(limits);
    }

    public unsafe bool TryDecode(
        ReadOnlySpan<byte> encoded, ImageFormat format, int minShorterSide,
        [NotNullWhen(true)] out DecodedImage? image, [NotNullWhen(false)] out ImageError? error)
    {
        image = null;
        try
        {
            fixed (byte* pointer = encoded)
            {
                using var stream = new UnmanagedMemoryStream(pointer, encoded.Length);
                var info = Image.Identify(configuration, stream, out _);
                if (info is null)
                {
                    error = new ImageError(ImageErrorCodes.CorruptImage, $"invalid {format} header");
                    return false;
                }

                if ((limits.CheckDeclaredSize(info.Width, info.Height) ?? limits.CheckDecodedSize(info.Width, info.Height, info.Width, info.Height)) is { } limitError)
                {
                    error = limitError;
                    return false;
                }

                stream.Position = 0;
                using var decoded = Image.Load<Rgba32>(configuration, stream);
                image = DecodedImage.Orient(CopyOnWhite(decoded), OrientationOf(decoded));
                error = null;
                return true;
            }
        }
        catch (UnknownImageFormatException)
        {
            error = new ImageError(ImageErrorCodes.CorruptImage, $"invalid {format} header");
        }
        catch (InvalidImageContentException ex)
        {
            error = new ImageError(ImageErrorCodes.CorruptImage, ImagePreprocessor.OneLine(ex.Message));
        }
        catch (ImageFormatException ex)
        {
            error = new ImageError(ImageErrorCodes.CorruptImage, ImagePreprocessor.OneLine(ex.Message));
        }
        catch (NotSupportedException ex)
        {
            error = new ImageError(ImageErrorCodes.UnsupportedFormat, $"unsupported image feature: {ImagePreprocessor.OneLine(ex.Message)}");
        }
        catch (Exception ex) when (ex is InvalidMemoryOperationException or OutOfMemoryException)
        {
            error = new ImageError(ImageErrorCodes.TooLarge, "decoding needs more memory than the decoder limit allows");
        }

        return false;
    }

    /// <summary>Straight-alpha RGBA over white into a pooled RGBX buffer: c' = (c * a + 255 * (255 - a)) / 255.</summary>
    private static DecodedImage CopyOnWhite(Image<Rgba32> decoded)
    {
        int width = decoded.Width, height = decoded.Height;
        var pixels = PixelBufferPool.Rent(width, height);
        var result = new DecodedImage(pixels, width, height);
        decoded.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < height; y++)
            {
                var row = rows.GetRowSpan(y);
                var output = pixels.AsSpan(y * width * 4, width * 4);
                for (var x = 0; x < width; x++)
                {
                    var p = row[x];
                    var o = x * 4;
                    if (p.A == 255)
                    {
                        output[o] = p.R;
                        output[o + 1] = p.G;
                        output[o + 2] = p.B;
                    }
                    else
                    {
                        int a = p.A, white = 255 * (255 - a);
                        output[o] = (byte)(((p.R * a) + white + 127) / 255);
                        output[o + 1] = (byte)(((p.G * a) + white + 127) / 255);
                        output[o + 2] = (byte)(((p.B * a) + white + 127) / 255);
                    }

                    output[o + 3] = 255;
                }
            }
        });
        return result;
    }

    private static ExifOrientation OrientationOf(Image image)
    {
        var value = image.Metadata.ExifProfile?.GetValue(ExifTag.Orientation);
        return value is null ? ExifOrientation.TopLeft : ExifOrientationExtensions.FromTag(value.Value);
    }

    private static Configuration CreateConfiguration(ImageLimits limits)
    {
        // Only the six supported formats, first frame only, single-threaded per image (the pipeline decodes several
        // images in parallel), and a bounded, pooled allocator.
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
}
