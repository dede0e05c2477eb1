using System.Runtime.CompilerServices;

namespace MobileNet.Inference.Decoding;

/// <summary>MSB-first bits with JPEG byte stuffing, padded with ones at the end.</summary>
internal struct JpegBitWriter
{
    private ulong current;
    private int count;

    /// <summary>Up to 32 bits; the caller has reserved 8 bytes for each call since the last reservation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Write(ref PooledByteWriter writer, ulong value, int bits)
    {
        current = (current << bits) | value;
        count += bits;
        while (count >= 8)
        {
            count -= 8;
            var next = (byte)(current >> count);
            writer.Append(next);
            if (next == 0xFF)
            {
                writer.Append(0x00);
            }
        }
    }

    public void Flush(ref PooledByteWriter writer)
    {
        if (count > 0)
        {
            Write(ref writer, (1u << (8 - count)) - 1, 8 - count);
        }
    }
}
