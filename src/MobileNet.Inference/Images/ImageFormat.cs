namespace MobileNet.Inference;

/// <summary>The encoded formats the preprocessor recognises, told apart by their first bytes (never by file name).</summary>
public enum ImageFormat
{
    Unknown,
    Jpeg,
    Png,
    Gif,
    Bmp,
    WebP,
    Tiff,
}

/// <summary>Recognises an image format from its signature, so that each format goes to exactly one decoder.</summary>
public static class ImageFormatSniffer
{
    /// <summary>Bytes needed to tell every supported format apart (a BMP's DIB header size, at bytes 14-17, is the furthest).</summary>
    public const int SignatureLength = 18;

    public static ImageFormat Sniff(ReadOnlySpan<byte> header)
    {
        if (header.Length >= 3 && header[0] == 0xFF && header[1] == 0xD8 && header[2] == 0xFF)
        {
            return ImageFormat.Jpeg;
        }

        if (header.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            return ImageFormat.Png;
        }

        if (header.StartsWith("GIF87a"u8) || header.StartsWith("GIF89a"u8))
        {
            return ImageFormat.Gif;
        }

        if (header.Length >= 12 && header.StartsWith("RIFF"u8) && header[8..12].SequenceEqual("WEBP"u8))
        {
            return ImageFormat.WebP;
        }

        if (header.StartsWith("II*\0"u8) || header.StartsWith("MM\0*"u8))
        {
            return ImageFormat.Tiff;
        }

        // "BM" alone would also match text: the DIB header that follows the 14-byte file header has one of a few sizes.
        if (header.Length >= 18 && header.StartsWith("BM"u8) && BitConverter.ToUInt32(header[14..18]) is 12 or 16 or 40 or 52 or 56 or 64 or 108 or 124)
        {
            return ImageFormat.Bmp;
        }

        return ImageFormat.Unknown;
    }
}
