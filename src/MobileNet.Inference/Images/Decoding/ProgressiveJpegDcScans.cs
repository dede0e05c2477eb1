using System.Buffers;

namespace MobileNet.Inference.Decoding;

/// <summary>
/// Rewrites a progressive JPEG that is decoded at 1/8 scale so that libjpeg-turbo reads only what that scale uses.
/// At 1/8, each 8x8 block of a full-resolution component (luma; every component of a 4:4:4 image) becomes one pixel
/// computed from its DC coefficient alone (the 1x1 IDCT), so its AC scans, most of the file and of the decoding work,
/// cannot change the result. They are replaced by one tiny AC scan per such component that marks every AC coefficient
/// as known and zero (end-of-band runs), which also keeps libjpeg from "smoothing" blocks whose AC data it thinks is
/// missing. The result decodes to the same pixels as the whole file. Subsampled components (4:2:0 chroma) keep every
/// scan: at 1/8 libjpeg-turbo decodes them with a 2x2 IDCT, which reads AC coefficients. Files with restart intervals
/// are left alone (an end-of-band run may not cross a restart marker).
/// </summary>
internal static class ProgressiveJpegDcScans
{
    private const int MaxEndOfBandRun = 32767;

    /// <summary>
    /// Writes the rewritten stream to a buffer rented from <see cref="ArrayPool{T}.Shared"/>; false when the file is
    /// not a progressive JPEG laid out as expected, or nothing would be dropped (the caller then decodes it as it is).
    /// </summary>
    public static bool TryRewrite(ReadOnlySpan<byte> jpeg, out byte[] buffer, out int length)
    {
        // The added scans: per component at most ceil(65,500^2 / 64 / 32,767) = 2,047 runs of 18 bits (doubled for byte
        // stuffing) plus 46 bytes of headers; 64 KB covers any frame.
        buffer = ArrayPool<byte>.Shared.Rent(jpeg.Length + 65536);
        length = 0;
        if (TryRewrite(jpeg, buffer, ref length))
        {
            return true;
        }

        ArrayPool<byte>.Shared.Return(buffer);
        buffer = [];
        length = 0;
        return false;
    }

    private static bool TryRewrite(ReadOnlySpan<byte> jpeg, byte[] buffer, ref int length)
    {
        var output = buffer.AsSpan();
        Append(jpeg[..2], output, ref length); // SOI
        var offset = 2;
        var frame = default(Frame);
        int keptDcScans = 0, droppedScans = 0;
        while (offset + 2 <= jpeg.Length)
        {
            if (jpeg[offset] != 0xFF)
            {
                return false;
            }

            var marker = jpeg[offset + 1];
            if (marker == 0xFF)
            {
                offset++;
                continue;
            }

            if (marker == 0xD9)
            {
                if (frame.Components is null || keptDcScans == 0 || droppedScans == 0)
                {
                    return false;
                }

                foreach (var component in frame.Components.Where(c => c.FullResolution))
                {
                    AppendZeroAcScan(component, output, ref length);
                }

                Append(jpeg.Slice(offset, 2), output, ref length);
                return true;
            }

            var segmentLength = offset + 4 <= jpeg.Length ? (jpeg[offset + 2] << 8) | jpeg[offset + 3] : 0;
            if (segmentLength < 2 || offset + 2 + segmentLength > jpeg.Length)
            {
                return false;
            }

            var segment = jpeg.Slice(offset, 2 + segmentLength);
            offset += segment.Length;
            switch (marker)
            {
                case 0xC2:
                    if (!Frame.TryRead(segment, out frame))
                    {
                        return false;
                    }

                    break;
                case 0xDD when segment.Length >= 6 && ((segment[4] << 8) | segment[5]) != 0:
                    return false; // restart intervals
                case 0xDA:
                    var components = segment[4];
                    var ssAt = 5 + (2 * components);
                    if (frame.Components is null || components == 0 || ssAt >= segment.Length)
                    {
                        return false;
                    }

                    var data = ScanLength(jpeg[offset..]);
                    var dc = segment[ssAt] == 0;
                    if (!dc && components == 1 && frame.IsFullResolution(segment[5]))
                    {
                        droppedScans++;
                    }
                    else
                    {
                        Append(segment, output, ref length);
                        Append(jpeg.Slice(offset, data), output, ref length);
                        keptDcScans += dc ? 1 : 0;
                    }

                    offset += data;
                    continue;
            }

            Append(segment, output, ref length);
        }

        return false;
    }

    /// <summary>
    /// An AC table holding the 15 end-of-band symbols (EOB0..EOB14, 4-bit codes 0..14) and one scan of the component's
    /// AC band 1..63, full precision, made of end-of-band runs over all its blocks.
    /// </summary>
    private static void AppendZeroAcScan(Component component, Span<byte> output, ref int length)
    {
        Span<byte> table = stackalloc byte[2 + 2 + 1 + 16 + 15];
        table.Clear();
        table[0] = 0xFF;
        table[1] = 0xC4;
        table[3] = (byte)(table.Length - 2);
        table[4] = 0x10; // AC table 0 (no scan follows these, so redefining it harms nothing)
        table[5 + 3] = 15; // 15 codes of length 4
        for (var r = 0; r < 15; r++)
        {
            table[5 + 16 + r] = (byte)(r << 4);
        }

        Append(table, output, ref length);
        Append([0xFF, 0xDA, 0x00, 0x08, 0x01, component.Id, 0x00, 0x01, 0x3F, 0x00], output, ref length);

        var bits = new BitWriter(output, length);
        for (var remaining = component.Blocks; remaining > 0;)
        {
            var run = (int)Math.Min(remaining, MaxEndOfBandRun);
            var r = 31 - System.Numerics.BitOperations.LeadingZeroCount((uint)run);
            bits.Write(r, 4);
            bits.Write(run - (1 << r), r);
            remaining -= run;
        }

        length = bits.Finish();
    }

    /// <summary>Entropy-coded bytes up to the next marker (stuffed 0xFF00 and restart markers belong to the scan).</summary>
    private static int ScanLength(ReadOnlySpan<byte> data)
    {
        var i = 0;
        while (i + 1 < data.Length)
        {
            var next = data[i..].IndexOf((byte)0xFF);
            if (next < 0 || i + next + 1 >= data.Length)
            {
                return data.Length;
            }

            i += next;
            var following = data[i + 1];
            if (following == 0x00 || following is >= 0xD0 and <= 0xD7)
            {
                i += 2;
            }
            else if (following == 0xFF)
            {
                i++;
            }
            else
            {
                return i;
            }
        }

        return data.Length;
    }

    private static void Append(ReadOnlySpan<byte> bytes, Span<byte> output, ref int length)
    {
        bytes.CopyTo(output[length..]);
        length += bytes.Length;
    }

    private readonly record struct Component(byte Id, bool FullResolution, long Blocks);

    private readonly record struct Frame(Component[]? Components)
    {
        public bool IsFullResolution(byte id) => Components!.Any(c => c.Id == id && c.FullResolution);

        /// <summary>SOF2: size and, per component, its sampling factors; full resolution = the largest factors.</summary>
        public static bool TryRead(ReadOnlySpan<byte> sof, out Frame frame)
        {
            frame = default;
            if (sof.Length < 10)
            {
                return false;
            }

            int height = (sof[5] << 8) | sof[6], width = (sof[7] << 8) | sof[8], count = sof[9];
            if (width == 0 || height == 0 || count == 0 || sof.Length < 10 + (3 * count))
            {
                return false;
            }

            int maxH = 0, maxV = 0;
            for (var i = 0; i < count; i++)
            {
                maxH = Math.Max(maxH, sof[11 + (3 * i)] >> 4);
                maxV = Math.Max(maxV, sof[11 + (3 * i)] & 0x0F);
            }

            var components = new Component[count];
            for (var i = 0; i < count; i++)
            {
                int h = sof[11 + (3 * i)] >> 4, v = sof[11 + (3 * i)] & 0x0F;
                // A non-interleaved scan covers the component's own blocks: ceil(ceil(size * factor / max) / 8) a side.
                long wide = (((width * h) + maxH - 1) / maxH + 7) / 8, high = (((height * v) + maxV - 1) / maxV + 7) / 8;
                components[i] = new Component(sof[10 + (3 * i)], h == maxH && v == maxV, wide * high);
            }

            frame = new Frame(components);
            return true;
        }
    }

    /// <summary>MSB-first bits into the output, with JPEG byte stuffing, padded with ones.</summary>
    private ref struct BitWriter(Span<byte> output, int length)
    {
        private readonly Span<byte> output = output;
        private int length = length;
        private int current;
        private int count;

        public void Write(int value, int bits)
        {
            for (var i = bits - 1; i >= 0; i--)
            {
                current = (current << 1) | ((value >> i) & 1);
                if (++count == 8)
                {
                    Emit();
                }
            }
        }

        public int Finish()
        {
            while (count != 0)
            {
                Write(1, 1);
            }

            return length;
        }

        private void Emit()
        {
            output[length++] = (byte)current;
            if (current == 0xFF)
            {
                output[length++] = 0x00;
            }

            current = 0;
            count = 0;
        }
    }
}
