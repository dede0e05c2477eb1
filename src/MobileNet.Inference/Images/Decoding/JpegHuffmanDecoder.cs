using System.Runtime.CompilerServices;

namespace MobileNet.Inference.Decoding;

/// <summary>A canonical Huffman table for decoding, with a 9-bit lookup for the short codes.</summary>
internal sealed class JpegHuffmanDecoder
{
    private const int LookupBits = 9;
    private readonly short[] lookup = new short[1 << LookupBits]; // (length << 8) | symbol; 0 = longer code
    private readonly int[] maxCode = new int[17];
    private readonly int[] valueOffset = new int[17];
    private readonly byte[] values;

    private JpegHuffmanDecoder(byte[] values) => this.values = values;

    /// <summary>Null when the counts do not form a valid code (libjpeg refuses it) or a DC symbol is over 15.</summary>
    public static JpegHuffmanDecoder? TryCreate(ReadOnlySpan<byte> counts, ReadOnlySpan<byte> symbols, bool isDc)
    {
        foreach (var symbol in symbols)
        {
            if (isDc && symbol > 15)
            {
                return null;
            }
        }

        var table = new JpegHuffmanDecoder(symbols.ToArray());
        int code = 0, k = 0;
        for (var length = 1; length <= 16; length++)
        {
            table.valueOffset[length] = k - code;
            for (var i = 0; i < counts[length - 1]; i++, k++, code++)
            {
                if (code + 1 >= 1 << length)
                {
                    return null; // past the length's codes, or the all-ones code libjpeg refuses
                }

                if (length <= LookupBits)
                {
                    var first = code << (LookupBits - length);
                    table.lookup.AsSpan(first, 1 << (LookupBits - length)).Fill((short)((length << 8) | symbols[k]));
                }
            }

            table.maxCode[length] = counts[length - 1] == 0 ? -1 : code - 1;
            code <<= 1;
        }

        return table;
    }

    /// <summary>The next symbol, or -1 for a bit pattern that is no code.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Decode(ref JpegEntropyReader reader)
    {
        var entry = lookup[reader.PeekBits(LookupBits)];
        if (entry != 0)
        {
            reader.SkipBits(entry >> 8);
            return entry & 0xFF;
        }

        var code = reader.ReadBits(LookupBits);
        var length = LookupBits;
        while (length < 16 && code > maxCode[length])
        {
            code = (code << 1) | reader.ReadBits(1);
            length++;
        }

        if (code > maxCode[length] || maxCode[length] < 0)
        {
            return -1;
        }

        var index = code + valueOffset[length];
        return index >= 0 && index < values.Length ? values[index] : -1;
    }
}
