using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace MobileNet.Inference.Decoding;

/// <summary>
/// Turns a progressive JPEG that is decoded at 1/8 scale into a small baseline JPEG that holds only the coefficients
/// that scale reads. At 1/8, libjpeg-turbo decodes each full-resolution component (luma; every component of 4:4:4)
/// with the 1x1 IDCT, which reads the DC coefficient alone; a component subsampled both across and down (4:2:0 chroma)
/// is scaled up by a 2x2 (or 4x4) IDCT instead, which reads some AC coefficients too, so such components keep those
/// (25 of 64 for 2x2), plus a mask of which others are non-zero, which AC refinement scans need to stay in step. The
/// baseline file decodes to the same pixels as the whole progressive file, while libjpeg-turbo needs no whole-image
/// coefficient buffer (88 MB for 5120x2880 4:4:4, touched twice) and decodes a fraction of the data.
/// <para>
/// The scans that matter (DC first and refinement, interleaved or not; AC first and refinement of the components that
/// keep AC) are decoded here, with restart intervals; the luma AC scans, most of the file, are skipped unread. Marker
/// segments before the first scan that carry metadata (APPn: EXIF orientation, ICC profile, Adobe transform; COM) and
/// the quantization tables are copied as they are. Anything unexpected (another frame type, 12-bit samples, a table
/// redefined mid-file, a progression libjpeg would warn about or leave incomplete, a truncated or corrupt scan) makes
/// <see cref="TryTranscode"/> return false and the caller decodes the original file, which reports its own errors:
/// this class never decides that a file is bad.
/// </para>
/// </summary>
internal static class ProgressiveJpegTranscoder
{
    private const int MaxComponents = 4;
    private const int MaxBlocksInMcu = 10;

    /// <summary>The DC table written: categories 0..15, lengths 2, 3 (x5), 4, 5, ..., 13; no all-ones code.</summary>
    private static readonly byte[] DcCodeCounts = [0, 1, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0];

    private static readonly byte[] DcSymbols = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

    /// <summary>
    /// The AC table written for components that keep AC coefficients: end-of-block in 2 bits, every other symbol (runs
    /// 0..15 with sizes 1..15, and the 16-zero run) in 9; simple, and only chroma uses it.
    /// </summary>
    private static readonly byte[] AcCodeCounts = [0, 1, 0, 0, 0, 0, 0, 0, 241, 0, 0, 0, 0, 0, 0, 0];

    private static readonly byte[] AcSymbols =
        [0x00, .. Enumerable.Range(0, 16).SelectMany(run => Enumerable.Range(1, 15).Select(size => (byte)((run << 4) | size))), 0xF0];

    private static readonly JpegHuffmanEncoder DcEncoder = JpegHuffmanEncoder.Create(DcCodeCounts, DcSymbols);

    private static readonly JpegHuffmanEncoder AcEncoder = JpegHuffmanEncoder.Create(AcCodeCounts, AcSymbols);

    /// <summary>
    /// Bytes this class holds while transcoding a frame: one 16-bit value per block of a DC-only component; for a
    /// component that keeps AC, the values its IDCT reads and a 64-bit non-zero mask. Zero when the frame is not one
    /// it transcodes.
    /// </summary>
    public static long WorkingBytes(ReadOnlySpan<byte> jpeg)
    {
        if (!JpegFrameHeader.TryReadSampling(jpeg, out var width, out var height, out var sampling))
        {
            return 0;
        }

        int maxH = 1, maxV = 1;
        foreach (var (h, v) in sampling)
        {
            maxH = Math.Max(maxH, h);
            maxV = Math.Max(maxV, v);
        }

        long mcusAcross = (width + (8L * maxH) - 1) / (8L * maxH), mcusDown = (height + (8L * maxV) - 1) / (8L * maxV), bytes = 0;
        foreach (var (h, v) in sampling)
        {
            var idct = IdctSize(h, v, maxH, maxV);
            bytes += mcusAcross * h * mcusDown * v * (idct == 1 ? 2 : (2 * ReadCoefficients(idct).Length) + sizeof(ulong));
        }

        return bytes;
    }

    /// <summary>
    /// Whether libjpeg-turbo decodes a component with a larger IDCT than 1x1 at 1/8 scale, which reads AC coefficients:
    /// it scales a component up by IDCT when it is subsampled by 2 or more both across and down (4:2:0 chroma: 2x2).
    /// </summary>
    public static bool KeepsAc(int h, int v, int maxH, int maxV) => IdctSize(h, v, maxH, maxV) > 1;

    /// <summary>
    /// The IDCT size libjpeg-turbo picks for a component at 1/8 scale (jdmaster.c): doubled from 1 while the component's
    /// subsampling is a multiple of twice that both across and down, so that it is scaled up by IDCT, not upsampled.
    /// </summary>
    public static int IdctSize(int h, int v, int maxH, int maxV)
    {
        var size = 1;
        while (size < 8 && maxH % (h * size * 2) == 0 && maxV % (v * size * 2) == 0)
        {
            size *= 2;
        }

        return size;
    }

    /// <summary>
    /// The coefficients (zig-zag indices, ascending, DC first) that libjpeg-turbo's reduced IDCT of this size reads
    /// (jidctred.c): the 2x2 skips rows and columns 2, 4 and 6, the 4x4 skips row and column 4.
    /// </summary>
    public static byte[] ReadCoefficients(int idctSize)
    {
        ReadOnlySpan<int> skipped = idctSize switch
        {
            1 => [1, 2, 3, 4, 5, 6, 7],
            2 => [2, 4, 6],
            4 => [4],
            _ => [],
        };
        var read = new List<byte>(64);
        for (var k = 0; k < 64; k++)
        {
            int natural = NaturalOrder[k], row = natural / 8, column = natural % 8;
            if (!skipped.Contains(row) && !skipped.Contains(column))
            {
                read.Add((byte)k);
            }
        }

        return [.. read];
    }

    /// <summary>Zig-zag index to row-major index in the 8x8 block (the JPEG standard's figure A.6).</summary>
    internal static ReadOnlySpan<byte> NaturalOrder =>
    [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
        35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55,
        62, 63,
    ];

    /// <summary>
    /// Writes the baseline file to a buffer rented from <see cref="ArrayPool{T}.Shared"/> (the caller returns it); false
    /// when the file is not a progressive JPEG this class can transcode exactly.
    /// </summary>
    public static bool TryTranscode(ReadOnlySpan<byte> jpeg, out byte[] buffer, out int length)
    {
        buffer = [];
        length = 0;
        var transcoder = new Transcoder();
        try
        {
            if (!transcoder.TryRead(jpeg) || !transcoder.TryWrite(jpeg, out buffer, out length))
            {
                buffer = [];
                length = 0;
                return false;
            }

            return true;
        }
        finally
        {
            transcoder.Dispose();
        }
    }

    private sealed class Transcoder : IDisposable
    {
        private readonly List<Range> copiedSegments = [];
        private readonly JpegHuffmanDecoder?[] dcTables = new JpegHuffmanDecoder?[4];
        private readonly JpegHuffmanDecoder?[] acTables = new JpegHuffmanDecoder?[4];
        private Component[] components = [];
        private int width, height, mcusAcross, mcusDown, restartInterval;
        private bool scanned;

        public bool TryRead(ReadOnlySpan<byte> jpeg)
        {
            if (jpeg.Length < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8)
            {
                return false;
            }

            var offset = 2;
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
                    // Every coefficient that is written must be complete: otherwise libjpeg would smooth the image.
                    return components.Length > 0 && components.All(c => c.IsComplete);
                }

                if (marker is >= 0xD0 and <= 0xD7 or 0x01 || offset + 4 > jpeg.Length)
                {
                    return false; // a restart marker outside a scan, or a truncated file
                }

                var segmentLength = (jpeg[offset + 2] << 8) | jpeg[offset + 3];
                if (segmentLength < 2 || offset + 2 + segmentLength > jpeg.Length)
                {
                    return false;
                }

                var body = jpeg.Slice(offset + 4, segmentLength - 2);
                var segment = new Range(offset, offset + 2 + segmentLength);
                offset += 2 + segmentLength;
                switch (marker)
                {
                    case 0xC2 when components.Length == 0 && !scanned:
                        if (!TryReadFrame(body))
                        {
                            return false;
                        }

                        break;
                    case 0xC4:
                        if (!TryReadHuffmanTables(body))
                        {
                            return false;
                        }

                        break;
                    case 0xDB when !scanned:
                    case >= 0xE0 and <= 0xEF or 0xFE when !scanned:
                        copiedSegments.Add(segment);
                        break;
                    case >= 0xE0 and <= 0xEF or 0xFE:
                        break; // read by no one after the first scan
                    case 0xDD:
                        if (body.Length != 2)
                        {
                            return false;
                        }

                        restartInterval = (body[0] << 8) | body[1];
                        break;
                    case 0xDA:
                        scanned = true;
                        if (!TryReadScan(body, jpeg[offset..], out var consumed))
                        {
                            return false;
                        }

                        offset += consumed;
                        break;
                    default:
                        return false; // another frame type, a second frame, DQT after a scan, DNL, ...
                }
            }

            return false; // no end of image
        }

        private bool TryReadFrame(ReadOnlySpan<byte> sof)
        {
            if (sof.Length < 6 || sof[0] != 8)
            {
                return false;
            }

            height = (sof[1] << 8) | sof[2];
            width = (sof[3] << 8) | sof[4];
            int count = sof[5];
            if (width == 0 || height == 0 || count is 0 or > MaxComponents || sof.Length != 6 + (3 * count))
            {
                return false;
            }

            components = new Component[count];
            for (var i = 0; i < count; i++)
            {
                int id = sof[6 + (3 * i)], h = sof[7 + (3 * i)] >> 4, v = sof[7 + (3 * i)] & 0x0F, table = sof[8 + (3 * i)];
                if (h is < 1 or > 4 || v is < 1 or > 4 || table > 3 || components.Take(i).Any(c => c.Id == id))
                {
                    return false;
                }

                components[i] = new Component { Id = (byte)id, H = h, V = v, QuantizationTable = (byte)table };
            }

            int maxH = components.Max(c => c.H), maxV = components.Max(c => c.V);
            mcusAcross = (width + (8 * maxH) - 1) / (8 * maxH);
            mcusDown = (height + (8 * maxV) - 1) / (8 * maxV);
            if (count > 1 && components.Sum(c => c.H * c.V) > MaxBlocksInMcu)
            {
                return false; // could only be written as one scan per component, which libjpeg buffers whole
            }

            foreach (var component in components)
            {
                // The blocks a non-interleaved scan covers, and the grid of whole MCUs that interleaved scans cover.
                component.BlocksAcross = (int)((((long)width * component.H) + maxH - 1) / maxH + 7) / 8;
                component.BlocksDown = (int)((((long)height * component.V) + maxV - 1) / maxV + 7) / 8;
                component.Stride = mcusAcross * component.H;
                component.SetStored(ReadCoefficients(IdctSize(component.H, component.V, maxH, maxV)));
                var blocks = (long)component.Stride * mcusDown * component.V;
                var length = blocks * component.BlockLength;
                if (length > Array.MaxLength)
                {
                    return false;
                }

                component.Coefficients = ArrayPool<short>.Shared.Rent((int)length);
                Array.Clear(component.Coefficients, 0, (int)length);
                if (component.KeepsAc)
                {
                    component.NonZero = ArrayPool<ulong>.Shared.Rent((int)blocks);
                    Array.Clear(component.NonZero, 0, (int)blocks);
                }
            }

            return true;
        }

        private bool TryReadHuffmanTables(ReadOnlySpan<byte> body)
        {
            while (body.Length > 0)
            {
                if (body.Length < 17)
                {
                    return false;
                }

                int tableClass = body[0] >> 4, id = body[0] & 0x0F, total = 0;
                for (var i = 1; i <= 16; i++)
                {
                    total += body[i];
                }

                if (tableClass > 1 || id > 3 || total > 256 || body.Length < 17 + total)
                {
                    return false;
                }

                var table = JpegHuffmanDecoder.TryCreate(body.Slice(1, 16), body.Slice(17, total), isDc: tableClass == 0);
                if (table is null)
                {
                    return false;
                }

                (tableClass == 0 ? dcTables : acTables)[id] = table;
                body = body[(17 + total)..];
            }

            return true;
        }

        /// <summary>Reads one scan header and, when the scan matters, its data; <paramref name="consumed"/> is the data's length.</summary>
        private bool TryReadScan(ReadOnlySpan<byte> header, ReadOnlySpan<byte> data, out int consumed)
        {
            consumed = ScanLength(data);
            if (components.Length == 0 || header.Length < 1)
            {
                return false;
            }

            int count = header[0];
            if (count is 0 or > MaxComponents || header.Length != 4 + (2 * count))
            {
                return false;
            }

            int ss = header[1 + (2 * count)], se = header[2 + (2 * count)], ah = header[3 + (2 * count)] >> 4, al = header[3 + (2 * count)] & 0x0F;
            var scan = new Component[count];
            var tables = new JpegHuffmanDecoder?[count];
            for (var i = 0; i < count; i++)
            {
                int id = header[1 + (2 * i)], dcTable = header[2 + (2 * i)] >> 4, acTable = header[2 + (2 * i)] & 0x0F;
                var component = Array.Find(components, c => c.Id == id);
                if (component is null || dcTable > 3 || acTable > 3 || scan.Take(i).Contains(component))
                {
                    return false;
                }

                scan[i] = component;
                tables[i] = ss == 0 ? dcTables[dcTable] : acTables[acTable];
            }

            // What libjpeg accepts without complaint (jdphuff.c), and the bit-by-bit progression it expects.
            var valid = ss == 0
                ? se == 0 && (count == 1 || scan.Sum(c => c.H * c.V) <= MaxBlocksInMcu)
                : count == 1 && se >= ss && se <= 63;
            if (!valid || al > 13 || (ah != 0 && al != ah - 1))
            {
                return false;
            }

            foreach (var component in scan)
            {
                for (var k = ss; k <= se; k++)
                {
                    if (component.KnownBits[k] != (ah == 0 ? -1 : ah))
                    {
                        return false;
                    }

                    component.KnownBits[k] = al;
                }
            }

            if (ss != 0 && !scan[0].KeepsAc)
            {
                return true; // AC coefficients no 1x1 IDCT reads: skipped unread
            }

            if (tables.Any(t => t is null) && !(ss == 0 && ah != 0))
            {
                return false; // DC refinement alone needs no table
            }

            var reader = new JpegEntropyReader(data[..consumed], restartInterval);
            return ss == 0 ? DecodeDcScan(ref reader, scan, tables, refine: ah != 0, al) : DecodeAcScan(ref reader, scan[0], tables[0]!, ss, se, ah, al);
        }

        private bool DecodeDcScan(ref JpegEntropyReader reader, Component[] scan, JpegHuffmanDecoder?[] tables, bool refine, int al)
        {
            Span<int> predictions = stackalloc int[scan.Length];
            predictions.Clear();
            var interleaved = scan.Length > 1;
            int across = interleaved ? mcusAcross : scan[0].BlocksAcross, down = interleaved ? mcusDown : scan[0].BlocksDown;
            var bit = (short)(1 << al);
            for (var row = 0; row < down; row++)
            {
                for (var column = 0; column < across; column++)
                {
                    if (!reader.TryBeginMcu(out var restarted))
                    {
                        return false;
                    }

                    if (restarted)
                    {
                        predictions.Clear();
                    }

                    for (var i = 0; i < scan.Length; i++)
                    {
                        var component = scan[i];
                        var coefficients = component.Coefficients!;
                        int blocksHigh = interleaved ? component.V : 1, blocksWide = interleaved ? component.H : 1, blockLength = component.BlockLength;
                        for (var v = 0; v < blocksHigh; v++)
                        {
                            var at = (((row * blocksHigh) + v) * component.Stride + (column * blocksWide)) * blockLength;
                            for (var h = 0; h < blocksWide; h++, at += blockLength)
                            {
                                if (refine)
                                {
                                    if (reader.ReadBit() != 0)
                                    {
                                        coefficients[at] |= bit;
                                    }

                                    continue;
                                }

                                var category = tables[i]!.Decode(ref reader);
                                if ((uint)category > 15)
                                {
                                    return false;
                                }

                                var value = (long)predictions[i] + Extend(reader.ReadBits(category), category);
                                if (value != (int)value)
                                {
                                    return false; // libjpeg refuses the overflow
                                }

                                predictions[i] = (int)value;
                                coefficients[at] = unchecked((short)((int)value << al));
                            }
                        }
                    }
                }

                if (reader.Overran)
                {
                    return false;
                }
            }

            return !reader.Overran;
        }

        /// <summary>One AC scan of one component (always non-interleaved): first pass or refinement, as jdphuff.c decodes it.</summary>
        private bool DecodeAcScan(ref JpegEntropyReader reader, Component component, JpegHuffmanDecoder table, int ss, int se, int ah, int al)
        {
            var coefficients = component.Coefficients!;
            var nonZero = component.NonZero!;
            var slots = component.Slots;
            var endOfBandRun = 0;
            int plus = 1 << al, minus = -1 << al;
            for (var row = 0; row < component.BlocksDown; row++)
            {
                for (var column = 0; column < component.BlocksAcross; column++)
                {
                    if (!reader.TryBeginMcu(out var restarted))
                    {
                        return false;
                    }

                    if (restarted)
                    {
                        endOfBandRun = 0;
                    }

                    var index = (row * component.Stride) + column;
                    var block = coefficients.AsSpan(index * component.BlockLength, component.BlockLength);
                    ref var mask = ref nonZero[index];
                    if (ah == 0)
                    {
                        if (endOfBandRun > 0)
                        {
                            endOfBandRun--;
                            continue;
                        }

                        for (var k = ss; k <= se; k++)
                        {
                            var symbol = table.Decode(ref reader);
                            if (symbol < 0)
                            {
                                return false;
                            }

                            int run = symbol >> 4, size = symbol & 15;
                            if (size != 0)
                            {
                                k += run;
                                if (k > se)
                                {
                                    return false;
                                }

                                Store(block, ref mask, slots, k, unchecked((short)(Extend(reader.ReadBits(size), size) << al)));
                            }
                            else if (run == 15)
                            {
                                k += 15;
                            }
                            else
                            {
                                endOfBandRun = (1 << run) + reader.ReadBits(run) - 1;
                                break;
                            }
                        }

                        continue;
                    }

                    var z = ss;
                    if (endOfBandRun == 0)
                    {
                        for (; z <= se; z++)
                        {
                            var symbol = table.Decode(ref reader);
                            if (symbol < 0)
                            {
                                return false;
                            }

                            int run = symbol >> 4, size = symbol & 15, value = 0;
                            if (size != 0)
                            {
                                if (size != 1)
                                {
                                    return false; // libjpeg warns; a refinement only ever adds +-1 at the scan's bit
                                }

                                value = reader.ReadBit() != 0 ? plus : minus;
                            }
                            else if (run != 15)
                            {
                                endOfBandRun = (1 << run) + reader.ReadBits(run);
                                break;
                            }

                            // Skip 'run' zero coefficients, refining the non-zero ones passed on the way.
                            while (z <= se)
                            {
                                if ((mask & (1UL << z)) != 0)
                                {
                                    Refine(ref reader, block, slots[z], plus, minus);
                                }
                                else if (--run < 0)
                                {
                                    break;
                                }

                                z++;
                            }

                            if (value != 0)
                            {
                                if (z > se)
                                {
                                    return false;
                                }

                                Store(block, ref mask, slots, z, (short)value);
                            }
                        }
                    }

                    if (endOfBandRun > 0)
                    {
                        // Inside an end-of-band run: only the correction bits of coefficients already non-zero.
                        for (; z <= se; z++)
                        {
                            if ((mask & (1UL << z)) != 0)
                            {
                                Refine(ref reader, block, slots[z], plus, minus);
                            }
                        }

                        endOfBandRun--;
                    }
                }

                if (reader.Overran)
                {
                    return false;
                }
            }

            return !reader.Overran;
        }

        /// <summary>Records coefficient <paramref name="k"/> (zig-zag) as non-zero, and keeps its value if the IDCT reads it.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Store(Span<short> block, ref ulong mask, sbyte[] slots, int k, short value)
        {
            if (value != 0)
            {
                mask |= 1UL << k;
            }

            if (slots[k] >= 0)
            {
                block[slots[k]] = value;
            }
        }

        /// <summary>A non-zero coefficient's correction bit: applied if the IDCT reads it (slot >= 0), else read past.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Refine(ref JpegEntropyReader reader, Span<short> block, int slot, int plus, int minus)
        {
            if (reader.ReadBit() == 0 || slot < 0)
            {
                return;
            }

            ref var coefficient = ref block[slot];
            if ((coefficient & plus) == 0)
            {
                coefficient = unchecked((short)(coefficient + (coefficient >= 0 ? plus : minus)));
            }
        }

        public bool TryWrite(ReadOnlySpan<byte> jpeg, out byte[] buffer, out int length)
        {
            var headerBytes = 0L;
            foreach (var segment in copiedSegments)
            {
                headerBytes += segment.GetOffsetAndLength(jpeg.Length).Length;
            }

            // Typical data: a few bits a DC-only block, a few bytes a block with AC; grown on demand for the rest.
            var estimate = components.Sum(c => (long)c.Stride * mcusDown * c.V * (c.KeepsAc ? 16 : 1));
            var writer = new PooledByteWriter((int)Math.Min(int.MaxValue / 2, headerBytes + 1024 + estimate));
            try
            {
                writer.Write([0xFF, 0xD8]);
                foreach (var segment in copiedSegments)
                {
                    writer.Write(jpeg[segment]);
                }

                // SOF1 (extended sequential, Huffman): like baseline, but allows 16-bit tables and DC categories up to 15.
                writer.Write([0xFF, 0xC1, 0, (byte)(8 + (3 * components.Length)), 8, (byte)(height >> 8), (byte)height, (byte)(width >> 8), (byte)width, (byte)components.Length]);
                foreach (var c in components)
                {
                    writer.Write([c.Id, (byte)((c.H << 4) | c.V), c.QuantizationTable]);
                }

                // DC table 0; AC table 0 holds only end-of-block, code "0" (DC-only components); AC table 1 holds all.
                writer.Write([0xFF, 0xC4, 0, (byte)(2 + 17 + DcSymbols.Length + 17 + 1), 0x00]);
                writer.Write(DcCodeCounts);
                writer.Write(DcSymbols);
                writer.Write([0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00]);
                if (components.Any(c => c.KeepsAc))
                {
                    var acLength = 2 + 17 + AcSymbols.Length;
                    writer.Write([0xFF, 0xC4, (byte)(acLength >> 8), (byte)acLength, 0x11]);
                    writer.Write(AcCodeCounts);
                    writer.Write(AcSymbols);
                }

                writer.Write([0xFF, 0xDA, 0, (byte)(6 + (2 * components.Length)), (byte)components.Length]);
                foreach (var c in components)
                {
                    writer.Write([c.Id, (byte)(c.KeepsAc ? 0x01 : 0x00)]);
                }

                writer.Write([0, 63, 0]);
                if (!WriteBlocks(ref writer))
                {
                    writer.Dispose();
                    buffer = [];
                    length = 0;
                    return false;
                }

                writer.Write([0xFF, 0xD9]);
                (buffer, length) = writer.Detach();
                return true;
            }
            catch
            {
                writer.Dispose();
                throw;
            }
        }

        private bool WriteBlocks(ref PooledByteWriter writer)
        {
            var bits = new JpegBitWriter();
            Span<int> predictions = stackalloc int[components.Length];
            predictions.Clear();
            if (components.Length == 1)
            {
                var c = components[0];
                for (var row = 0; row < c.BlocksDown; row++)
                {
                    for (var column = 0; column < c.BlocksAcross; column++)
                    {
                        if (!WriteBlock(ref writer, ref bits, c, (row * c.Stride) + column, ref predictions[0]))
                        {
                            return false;
                        }
                    }
                }
            }
            else
            {
                for (var row = 0; row < mcusDown; row++)
                {
                    for (var column = 0; column < mcusAcross; column++)
                    {
                        for (var i = 0; i < components.Length; i++)
                        {
                            var c = components[i];
                            for (var v = 0; v < c.V; v++)
                            {
                                var at = ((row * c.V) + v) * c.Stride + (column * c.H);
                                for (var h = 0; h < c.H; h++)
                                {
                                    if (!WriteBlock(ref writer, ref bits, c, at + h, ref predictions[i]))
                                    {
                                        return false;
                                    }
                                }
                            }
                        }
                    }
                }
            }

            writer.Reserve(16);
            bits.Flush(ref writer);
            return true;
        }

        /// <summary>
        /// One block: its DC difference (category code and bits), then for a component that keeps AC its coefficients as
        /// (zero run, size) symbols and bits, then end of block. False for a value no Huffman category holds (a crafted
        /// file; the original decodes it).
        /// </summary>
        private static bool WriteBlock(ref PooledByteWriter writer, ref JpegBitWriter bits, Component component, int block, ref int prediction)
        {
            // At most 64 symbols of 9 + 15 bits and 3 zero runs: well within 8 bytes a symbol, doubled for stuffing.
            writer.Reserve(component.KeepsAc ? 64 * 8 : 8);
            var coefficients = component.Coefficients.AsSpan(block * component.BlockLength, component.BlockLength);
            var dc = coefficients[0];
            var difference = dc - prediction;
            prediction = dc;
            var category = Category(difference);
            if (category > 15)
            {
                return false;
            }

            var (code, codeLength) = DcEncoder[category];
            if (!component.KeepsAc)
            {
                // Code, then the difference's low bits, then "0" (end of block).
                bits.Write(ref writer, (((ulong)code << category) | LowBits(difference, category)) << 1, codeLength + category + 1);
                return true;
            }

            bits.Write(ref writer, ((ulong)code << category) | LowBits(difference, category), codeLength + category);
            // Back to 64 in zig-zag order; the coefficients the IDCT does not read are written as zeros.
            Span<short> whole = stackalloc short[64];
            whole.Clear();
            var stored = component.Stored;
            for (var slot = 1; slot < stored.Length; slot++)
            {
                whole[stored[slot]] = coefficients[slot];
            }

            var ac = whole[1..];
            for (var k = 0; k < ac.Length; k++)
            {
                var run = ac[k..].IndexOfAnyExcept((short)0);
                if (run < 0)
                {
                    var (end, endLength) = AcEncoder[0x00];
                    bits.Write(ref writer, end, endLength);
                    break;
                }

                k += run;
                for (; run > 15; run -= 16)
                {
                    var (zeros, zerosLength) = AcEncoder[0xF0];
                    bits.Write(ref writer, zeros, zerosLength);
                }

                int value = ac[k], size = Category(value);
                if (size > 15)
                {
                    return false;
                }

                var (symbol, symbolLength) = AcEncoder[(run << 4) | size];
                bits.Write(ref writer, ((ulong)symbol << size) | LowBits(value, size), symbolLength + size);
            }

            return true;
        }

        private static int Category(int value) => 32 - BitOperations.LeadingZeroCount((uint)Math.Abs(value));

        private static uint LowBits(int value, int category) => (uint)(value < 0 ? value - 1 : value) & ((1u << category) - 1);

        public void Dispose()
        {
            foreach (var component in components)
            {
                if (component?.Coefficients is not null)
                {
                    ArrayPool<short>.Shared.Return(component.Coefficients);
                    component.Coefficients = null;
                }

                if (component?.NonZero is not null)
                {
                    ArrayPool<ulong>.Shared.Return(component.NonZero);
                    component.NonZero = null;
                }
            }
        }
    }

    private static int Extend(int bits, int category) =>
        category == 0 ? 0 : bits < (1 << (category - 1)) ? bits - (1 << category) + 1 : bits;

    /// <summary>Entropy-coded bytes up to the next marker (stuffed 0xFF00 and restart markers belong to the scan).</summary>
    private static int ScanLength(ReadOnlySpan<byte> data)
    {
        var i = 0;
        while (true)
        {
            var next = data[i..].IndexOf((byte)0xFF);
            if (next < 0)
            {
                return data.Length;
            }

            i += next;
            if (i + 1 >= data.Length)
            {
                return data.Length;
            }

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
    }

    private sealed class Component
    {
        public byte Id;
        public int H, V;
        public byte QuantizationTable;
        public int BlocksAcross, BlocksDown, Stride;

        /// <summary>Whether the component keeps AC coefficients (<see cref="KeepsAc(int, int, int, int)"/>).</summary>
        public bool KeepsAc => BlockLength > 1;

        /// <summary>Values stored per block: those its IDCT reads (<see cref="ReadCoefficients"/>), the DC first.</summary>
        public int BlockLength => Stored.Length;

        /// <summary>The zig-zag index each stored value holds.</summary>
        public byte[] Stored { get; private set; } = [0];

        /// <summary>Per zig-zag index, where in a block's stored values it is kept; -1 for those no IDCT reads.</summary>
        public sbyte[] Slots { get; } = new sbyte[64];

        public short[]? Coefficients;

        /// <summary>Per block of a component that keeps AC, bit k set when coefficient k (zig-zag) is non-zero.</summary>
        public ulong[]? NonZero;

        public void SetStored(byte[] stored)
        {
            Stored = stored;
            Slots.AsSpan().Fill(-1);
            for (var slot = 0; slot < stored.Length; slot++)
            {
                Slots[stored[slot]] = (sbyte)slot;
            }
        }

        /// <summary>Per coefficient (zig-zag order), the point transform (Al) of the bits known so far; -1 before its first scan.</summary>
        public int[] KnownBits { get; } = Enumerable.Repeat(-1, 64).ToArray();

        /// <summary>
        /// Whether every coefficient is known to its last bit. libjpeg "smooths" an image whose progression is incomplete
        /// (estimating missing AC from neighbouring DC values, which changes even 1x1 output), so only complete files are
        /// transcoded; encoders write complete ones.
        /// </summary>
        public bool IsComplete => KnownBits.All(bits => bits == 0);
    }
}
