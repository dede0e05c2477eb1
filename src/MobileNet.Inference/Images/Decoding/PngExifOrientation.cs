using System.Buffers.Binary;

namespace MobileNet.Inference.Decoding;

/// <summary>
/// Reads the EXIF orientation from a PNG's <c>eXIf</c> chunk, which Skia's PNG codec does not look at (it does for JPEG
/// and WebP). Walks only the chunk headers before the first IDAT; anything malformed means "no orientation".
/// </summary>
internal static class PngExifOrientation
{
    private const int SignatureLength = 8;
    private const ushort OrientationTag = 0x0112;

    public static ExifOrientation Read(ReadOnlySpan<byte> png)
    {
        var offset = SignatureLength;
        while (offset + 8 <= png.Length)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(png[offset..]);
            var type = png.Slice(offset + 4, 4);
            if (length > int.MaxValue || offset + 12L + length > png.Length || type.SequenceEqual("IDAT"u8) || type.SequenceEqual("IEND"u8))
            {
                return ExifOrientation.TopLeft;
            }

            if (type.SequenceEqual("eXIf"u8))
            {
                return FromTiff(png.Slice(offset + 8, (int)length));
            }

            offset += 12 + (int)length;
        }

        return ExifOrientation.TopLeft;
    }

    /// <summary>The orientation entry of IFD0 in a TIFF-structured EXIF block ("II*\0" or "MM\0*").</summary>
    internal static ExifOrientation FromTiff(ReadOnlySpan<byte> tiff)
    {
        if (tiff.Length < 8)
        {
            return ExifOrientation.TopLeft;
        }

        var little = tiff[0] == (byte)'I' && tiff[1] == (byte)'I';
        if (!little && !(tiff[0] == (byte)'M' && tiff[1] == (byte)'M'))
        {
            return ExifOrientation.TopLeft;
        }

        var ifd = ReadUInt32(tiff, 4, little);
        if (ifd > (uint)tiff.Length - 2)
        {
            return ExifOrientation.TopLeft;
        }

        var count = ReadUInt16(tiff, (int)ifd, little);
        for (var i = 0; i < count; i++)
        {
            var entry = (int)ifd + 2 + (i * 12);
            if (entry + 12 > tiff.Length)
            {
                break;
            }

            if (ReadUInt16(tiff, entry, little) == OrientationTag)
            {
                // A SHORT stored in the first two bytes of the value field.
                return ExifOrientationExtensions.FromTag(ReadUInt16(tiff, entry + 8, little));
            }
        }

        return ExifOrientation.TopLeft;
    }

    private static uint ReadUInt32(ReadOnlySpan<byte> tiff, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(tiff[at..]) : BinaryPrimitives.ReadUInt32BigEndian(tiff[at..]);

    private static ushort ReadUInt16(ReadOnlySpan<byte> tiff, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(tiff[at..]) : BinaryPrimitives.ReadUInt16BigEndian(tiff[at..]);
}
