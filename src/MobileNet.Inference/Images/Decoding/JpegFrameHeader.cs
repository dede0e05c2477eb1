using System.Buffers.Binary;

namespace MobileNet.Inference.Decoding;

/// <summary>
/// The size a JPEG declares in its frame header (SOFn), read by walking the marker segments before the first scan.
/// libjpeg-turbo refuses sizes over 65,500 with a generic error; reading them first lets such a file be refused as
/// too large, with its size, like any other format.
/// </summary>
internal static class JpegFrameHeader
{
    /// <summary>The frame's size, component count and whether it is progressive (SOF2, SOF6, SOF10, SOF14).</summary>
    public static bool TryRead(ReadOnlySpan<byte> jpeg, out int width, out int height, out int components, out bool progressive)
    {
        width = height = components = 0;
        progressive = false;
        if (!TryFindFrame(jpeg, out var offset))
        {
            return false;
        }

        height = BinaryPrimitives.ReadUInt16BigEndian(jpeg[(offset + 5)..]);
        width = BinaryPrimitives.ReadUInt16BigEndian(jpeg[(offset + 7)..]);
        components = jpeg[offset + 9];
        progressive = jpeg[offset + 1] is 0xC2 or 0xC6 or 0xCA or 0xCE;
        return true;
    }

    /// <summary>The frame's size and each component's sampling factors (horizontal, vertical).</summary>
    public static bool TryReadSampling(ReadOnlySpan<byte> jpeg, out int width, out int height, out (int H, int V)[] sampling)
    {
        width = height = 0;
        sampling = [];
        if (!TryFindFrame(jpeg, out var offset) || offset + 10 + (3 * jpeg[offset + 9]) > jpeg.Length)
        {
            return false;
        }

        height = BinaryPrimitives.ReadUInt16BigEndian(jpeg[(offset + 5)..]);
        width = BinaryPrimitives.ReadUInt16BigEndian(jpeg[(offset + 7)..]);
        sampling = new (int, int)[jpeg[offset + 9]];
        for (var i = 0; i < sampling.Length; i++)
        {
            var factors = jpeg[offset + 11 + (3 * i)];
            sampling[i] = (Math.Max(1, factors >> 4), Math.Max(1, factors & 0x0F));
        }

        return true;
    }

    /// <summary>The offset of the frame header's marker, when its fixed part (up to the component count) is in the data.</summary>
    private static bool TryFindFrame(ReadOnlySpan<byte> jpeg, out int offset)
    {
        offset = 2; // after SOI
        while (offset + 4 <= jpeg.Length)
        {
            if (jpeg[offset] != 0xFF)
            {
                return false;
            }

            var marker = jpeg[offset + 1];
            if (marker == 0xFF)
            {
                offset++; // fill byte
                continue;
            }

            if (marker is >= 0xD0 and <= 0xD7 or 0x01)
            {
                offset += 2; // standalone markers carry no length
                continue;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(jpeg[(offset + 2)..]);
            if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
            {
                return offset + 10 <= jpeg.Length;
            }

            if (marker is 0xDA or 0xD9 || length < 2)
            {
                return false;
            }

            offset += 2 + length;
        }

        return false;
    }
}
