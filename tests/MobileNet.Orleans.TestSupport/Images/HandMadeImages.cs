using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace MobileNet.Orleans.Testing.Images;

/// <summary>
/// Image files ImageSharp 2.1 cannot encode, written byte by byte: a CMYK (Adobe) JPEG, JPEGs of any size without a
/// pixel buffer, and a PNG whose header claims a huge size.
/// </summary>
public static class HandMadeImages
{
    /// <summary>
    /// A valid 8x8 baseline JPEG with four components (C, M, Y, K) and an Adobe APP14 marker (transform 0 = CMYK,
    /// Adobe-inverted: a stored 255 means no ink). Each component is one flat 8x8 block of the given stored value;
    /// quantisation is all ones, the DC table is the standard luminance one and the AC table holds only end-of-block.
    /// </summary>
    public static byte[] CmykJpeg(byte c, byte m, byte y, byte k)
    {
        var jpeg = new MemoryStream();
        void Marker(byte code, byte[] payload) => WriteMarker(jpeg, code, payload);

        jpeg.Write([0xFF, 0xD8]); // SOI
        Marker(0xEE, [.. "Adobe"u8, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00]); // APP14, version 100, transform 0
        Marker(0xDB, [0x00, .. Enumerable.Repeat((byte)1, 64)]); // DQT table 0: all ones
        Marker(0xC0, [8, 0, 8, 0, 8, 4, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0]); // SOF0 8x8, 4 components
        WriteFlatBlockTables(jpeg);
        Marker(0xDA, [4, 1, 0x00, 2, 0x00, 3, 0x00, 4, 0x00, 0, 63, 0]); // SOS

        var bits = new BitWriter();
        foreach (var value in new[] { c, m, y, k })
        {
            // A flat block decodes to 128 + DC / 8.
            var dc = (value - 128) * 8;
            var category = dc == 0 ? 0 : 32 - BitOperations.LeadingZeroCount((uint)Math.Abs(dc));
            var (code, length) = DcCode(category);
            bits.Write(code, length);
            if (category > 0)
            {
                bits.Write(dc > 0 ? dc : dc + ((1 << category) - 1), category);
            }

            bits.Write(0, 1); // EOB
        }

        jpeg.Write(bits.Finish());
        jpeg.Write([0xFF, 0xD9]); // EOI
        return jpeg.ToArray();
    }

    /// <summary>
    /// A baseline greyscale JPEG of any size up to the format's 65,535 a side, written block by block without a pixel
    /// buffer: every 8x8 block is flat, its level a diagonal gradient (DC only, then end-of-block). With
    /// <paramref name="headerOnly"/> the scan stops after the header (a file that only declares its size).
    /// </summary>
    public static byte[] GrayJpeg(int width, int height, bool headerOnly = false)
    {
        var jpeg = new MemoryStream();
        void Marker(byte code, byte[] payload) => WriteMarker(jpeg, code, payload);

        jpeg.Write([0xFF, 0xD8]); // SOI
        Marker(0xDB, [0x00, .. Enumerable.Repeat((byte)1, 64)]); // DQT table 0: all ones
        Marker(0xC0, [8, (byte)(height >> 8), (byte)height, (byte)(width >> 8), (byte)width, 1, 1, 0x11, 0]); // SOF0, 1 component
        WriteFlatBlockTables(jpeg);
        Marker(0xDA, [1, 1, 0x00, 0, 63, 0]); // SOS
        if (!headerOnly)
        {
            var bits = new BitWriter();
            int blocksWide = (width + 7) / 8, blocksHigh = (height + 7) / 8, previous = 0;
            for (var by = 0; by < blocksHigh; by++)
            {
                for (var bx = 0; bx < blocksWide; bx++)
                {
                    // Level 28..228 along the diagonal; a flat block decodes to 128 + DC / 8.
                    var level = 28 + (int)(200L * (bx + by) / Math.Max(1, blocksWide + blocksHigh - 2));
                    var dc = (level - 128) * 8;
                    var diff = dc - previous;
                    previous = dc;
                    var category = diff == 0 ? 0 : 32 - BitOperations.LeadingZeroCount((uint)Math.Abs(diff));
                    var (code, length) = DcCode(category);
                    bits.Write(code, length);
                    if (category > 0)
                    {
                        bits.Write(diff > 0 ? diff : diff + ((1 << category) - 1), category);
                    }

                    bits.Write(0, 1); // EOB
                }
            }

            jpeg.Write(bits.Finish());
        }

        jpeg.Write([0xFF, 0xD9]); // EOI
        return jpeg.ToArray();
    }

    /// <summary>A PNG signature, an IHDR claiming <paramref name="width"/> x <paramref name="height"/> (valid CRC), a tiny IDAT and IEND.</summary>
    public static byte[] PngWithClaimedSize(int width, int height)
    {
        var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // colour type RGB
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]); // empty zlib stream
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void WriteMarker(Stream jpeg, byte code, byte[] payload)
    {
        jpeg.WriteByte(0xFF);
        jpeg.WriteByte(code);
        jpeg.WriteByte((byte)((payload.Length + 2) >> 8));
        jpeg.WriteByte((byte)(payload.Length + 2));
        jpeg.Write(payload);
    }

    /// <summary>Huffman tables for flat blocks: the standard luminance DC table, and an AC table holding only end-of-block (code "0").</summary>
    private static void WriteFlatBlockTables(Stream jpeg)
    {
        byte[] dcCounts = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
        WriteMarker(jpeg, 0xC4, [0x00, .. dcCounts, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        WriteMarker(jpeg, 0xC4, [0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00]);
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        Span<byte> header = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(header, data.Length);
        png.Write(header);
        var typeAndData = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        png.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(header, Crc32(typeAndData));
        png.Write(header);
    }

    /// <summary>CRC-32 (ISO-HDLC, as PNG uses), bitwise: small inputs only.</summary>
    private static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var i = 0; i < 8; i++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }

    private static (int Code, int Length) DcCode(int category) => category switch
    {
        0 => (0b00, 2),
        1 => (0b010, 3),
        2 => (0b011, 3),
        3 => (0b100, 3),
        4 => (0b101, 3),
        5 => (0b110, 3),
        6 => (0b1110, 4),
        7 => (0b11110, 5),
        8 => (0b111110, 6),
        9 => (0b1111110, 7),
        10 => (0b11111110, 8),
        _ => (0b111111110, 9),
    };

    private sealed class BitWriter
    {
        private readonly MemoryStream bytes = new();
        private int current;
        private int count;

        public void Write(int value, int length)
        {
            for (var i = length - 1; i >= 0; i--)
            {
                current = (current << 1) | ((value >> i) & 1);
                if (++count == 8)
                {
                    Emit();
                }
            }
        }

        public byte[] Finish()
        {
            while (count != 0)
            {
                Write(1, 1); // pad with ones
            }

            return bytes.ToArray();
        }

        private void Emit()
        {
            bytes.WriteByte((byte)current);
            if (current == 0xFF)
            {
                bytes.WriteByte(0x00); // byte stuffing
            }

            current = 0;
            count = 0;
        }
    }
}
