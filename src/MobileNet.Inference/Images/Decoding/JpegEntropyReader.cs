using System.Runtime.CompilerServices;

namespace MobileNet.Inference.Decoding;

/// <summary>
/// Reads the MSB-first bits of one scan, removing byte stuffing, and its restart markers every
/// <paramref name="restartInterval"/> MCUs (0: none); past the data (a marker) it reads zeros and says so.
/// </summary>
internal ref struct JpegEntropyReader(ReadOnlySpan<byte> data, int restartInterval)
{
    private readonly ReadOnlySpan<byte> data = data;
    private readonly int interval = restartInterval;
    private int untilRestart = restartInterval;
    private int restarts;
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

    /// <summary>
    /// Called before each MCU. At the end of a restart interval it drops the interval's leftover bits and reads the
    /// next RSTn (<paramref name="restarted"/>: the caller resets its predictions); false when the data overran or the
    /// marker is not there.
    /// </summary>
    public bool TryBeginMcu(out bool restarted)
    {
        restarted = false;
        if (interval == 0)
        {
            return true;
        }

        if (untilRestart == 0)
        {
            if (Overran || !TryRestart(restarts++ & 7))
            {
                return false;
            }

            restarted = true;
            untilRestart = interval;
        }

        untilRestart--;
        return true;
    }

    private bool TryRestart(int n)
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
