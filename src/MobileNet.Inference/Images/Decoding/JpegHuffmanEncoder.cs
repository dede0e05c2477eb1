namespace MobileNet.Inference.Decoding;

/// <summary>Codes and lengths for a canonical table given as counts per length and symbols.</summary>
internal sealed class JpegHuffmanEncoder
{
    private readonly (uint Code, int Length)[] codes = new (uint, int)[256];

    public (uint Code, int Length) this[int symbol] => codes[symbol];

    public static JpegHuffmanEncoder Create(ReadOnlySpan<byte> counts, ReadOnlySpan<byte> symbols)
    {
        var encoder = new JpegHuffmanEncoder();
        uint code = 0;
        var k = 0;
        for (var length = 1; length <= 16; length++)
        {
            for (var i = 0; i < counts[length - 1]; i++)
            {
                encoder.codes[symbols[k++]] = (code++, length);
            }

            code <<= 1;
        }

        return encoder;
    }
}
