using System.Runtime.CompilerServices;

namespace MobileNet.Inference.Decoding;

/// <summary>Reads the MSB-first bits of one scan, removing byte stuffing; past the data (a marker) it reads zeros and says so.</summary>
internal ref struct JpegEntropyReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> data = data;
    private int position;
    private ulong bits;
    private int count;
    private int padding; // zero bytes added past the data, at the low end of the buffer

    /// <summary>True once a read took bits that are not in the data.</summary>
    public readonly bool Overran => count < padding * 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int PeekBits(int n)
    {
        if (count < n)
        {
            Fill();
        }

        return (int)(bits >> (64 - n));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SkipBits(int n)
    {
        bits <<= n;
        count -= n;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ReadBit()
    {
        if (count < 1)
        {
            Fill();
        }

        var value = (int)(bits >> 63);
        bits <<= 1;
        count--;
        return value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ReadBits(int n)
    {
        if (n == 0)
        {
            return 0;
        }

        var value = PeekBits(n);
        SkipBits(n);
        return value;
    }

    /// <summary>Drops the bits left in the interval and reads restart marker RSTn.</summary>
    public bool TryRestart(int n)
    {
        bits = 0;
        count = 0;
        padding = 0;
        if (position + 1 >= data.Length || data[position] != 0xFF || data[position + 1] != 0xD0 + n)
        {
            return false;
        }

        position += 2;
        return true;
    }

    private void Fill()
    {
        while (count <= 56)
        {
            ulong next = 0;
            if (padding == 0 && position < data.Length)
            {
                var b = data[position];
                if (b != 0xFF)
                {
                    position++;
                    next = b;
                }
                else if (position + 1 < data.Length && data[position + 1] == 0x00)
                {
                    position += 2;
                    next = 0xFF;
                }
                else
                {
                    padding++; // a marker: the interval's data ends here
                }
            }
            else
            {
                padding++;
            }

            bits |= next << (56 - count);
            count += 8;
        }
    }
}
