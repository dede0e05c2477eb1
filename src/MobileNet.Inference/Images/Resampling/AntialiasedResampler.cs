namespace MobileNet.Inference.Resampling;

/// <summary>
/// Resizes 8-bit RGBX pixels with an antialiased triangle (bilinear) filter whose support widens with the downscale
/// factor, level for level as Pillow's <c>Image.resize(BILINEAR)</c> does under torchvision's <c>Resize</c> (the same
/// coefficients in 22-bit fixed point, each pass rounded to 8 bits), and produces only the pixels of a crop window of
/// the resized image (center crop without computing what is cropped away). Separable: a horizontal pass over the
/// source rows the window needs, then a vertical pass. Output: interleaved RGB levels 0..255, as floats.
/// </summary>
internal static class AntialiasedResampler
{
    private const int PrecisionBits = 32 - 8 - 2;
    private const int Half = 1 << (PrecisionBits - 1);

    /// <param name="source">RGBX pixels, <paramref name="sourceWidth"/> x <paramref name="sourceHeight"/>.</param>
    /// <param name="resizedWidth">Width of the full resized image the window is cut from.</param>
    /// <param name="resizedHeight">Height of the full resized image.</param>
    /// <param name="window">The crop window within the resized image.</param>
    /// <param name="destination">window.Width x window.Height x 3 floats.</param>
    public static unsafe void ResizeCrop(
        ReadOnlySpan<byte> source, int sourceWidth, int sourceHeight, int resizedWidth, int resizedHeight, CropWindow window, Span<float> destination)
    {
        var columns = FilterTaps.Create(sourceWidth, resizedWidth, window.Left, window.Width);
        var rows = FilterTaps.Create(sourceHeight, resizedHeight, window.Top, window.Height);
        int firstRow = rows.MinSource, rowCount = rows.MaxSourceExclusive - rows.MinSource;
        var stride = window.Width * 3;
        if (source.Length < sourceWidth * sourceHeight * 4 || destination.Length < window.Height * stride)
        {
            throw new ArgumentException("source or destination too small for the given sizes");
        }

        // Horizontal pass: the window's columns for every source row the vertical taps touch. Pointers: this is the
        // hot loop of preprocessing, and every index below is within the sizes checked above.
        var horizontal = System.Buffers.ArrayPool<byte>.Shared.Rent(rowCount * stride);
        var sums = System.Buffers.ArrayPool<int>.Shared.Rent(stride);
        try
        {
            fixed (byte* sourcePointer = source)
            fixed (byte* horizontalPointer = horizontal)
            fixed (int* columnWeights = columns.Weights)
            fixed (int* rowWeights = rows.Weights)
            fixed (int* sum = sums)
            fixed (float* destinationPointer = destination)
            {
                for (var r = 0; r < rowCount; r++)
                {
                    var row = sourcePointer + ((long)(firstRow + r) * sourceWidth * 4);
                    var output = horizontalPointer + (r * stride);
                    for (var x = 0; x < window.Width; x++)
                    {
                        var pixel = row + (columns.Start[x] * 4);
                        var weights = columnWeights + (x * columns.Taps);
                        var count = columns.Counts[x];
                        int red = Half, green = Half, blue = Half;
                        for (var k = 0; k < count; k++)
                        {
                            var w = weights[k];
                            red += pixel[0] * w;
                            green += pixel[1] * w;
                            blue += pixel[2] * w;
                            pixel += 4;
                        }

                        output[x * 3] = Level(red);
                        output[(x * 3) + 1] = Level(green);
                        output[(x * 3) + 2] = Level(blue);
                    }
                }

                // Vertical pass: row by row of taps, so the inner loop runs over contiguous bytes.
                for (var y = 0; y < window.Height; y++)
                {
                    var start = rows.Start[y] - firstRow;
                    var weights = rowWeights + (y * rows.Taps);
                    var count = rows.Counts[y];
                    new Span<int>(sum, stride).Fill(Half);
                    for (var k = 0; k < count; k++)
                    {
                        var w = weights[k];
                        var input = horizontalPointer + ((start + k) * stride);
                        for (var i = 0; i < stride; i++)
                        {
                            sum[i] += input[i] * w;
                        }
                    }

                    var output = destinationPointer + (y * stride);
                    for (var i = 0; i < stride; i++)
                    {
                        output[i] = Level(sum[i]);
                    }
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(horizontal);
            System.Buffers.ArrayPool<int>.Shared.Return(sums);
        }
    }

    private static byte Level(int fixedPoint) => (byte)Math.Clamp(fixedPoint >> PrecisionBits, 0, 255);

    /// <summary>Per output index: the first source index and the fixed-point weights of the source indices it blends.</summary>
    private sealed class FilterTaps
    {
        private FilterTaps(int[] start, int[] counts, int[] weights, int taps)
        {
            Start = start;
            Counts = counts;
            Weights = weights;
            Taps = taps;
            MinSource = start.Length == 0 ? 0 : start.Min();
            MaxSourceExclusive = start.Length == 0 ? 0 : start.Select((s, i) => s + counts[i]).Max();
        }

        /// <summary>First source index per output.</summary>
        public int[] Start { get; }

        /// <summary>Source indices blended per output.</summary>
        public int[] Counts { get; }

        /// <summary><see cref="Taps"/> slots per output, the first <see cref="Counts"/> of them used.</summary>
        public int[] Weights { get; }

        public int Taps { get; }

        public int MinSource { get; }

        public int MaxSourceExclusive { get; }

        /// <summary>Pillow's precompute_coeffs for the bilinear filter (support 1), for outputs first..first+count.</summary>
        public static FilterTaps Create(int inSize, int outSize, int first, int count)
        {
            var scale = (double)inSize / outSize;
            var filterScale = Math.Max(scale, 1.0);
            var support = filterScale; // bilinear support 1.0, widened by the downscale factor
            var taps = ((int)Math.Ceiling(support) * 2) + 1;
            var start = new int[count];
            var counts = new int[count];
            var weights = new int[count * taps];
            Span<double> raw = stackalloc double[taps];
            for (var i = 0; i < count; i++)
            {
                var center = (first + i + 0.5) * scale;
                var min = Math.Max((int)(center - support + 0.5), 0);
                var max = Math.Min((int)(center + support + 0.5), inSize);
                var n = Math.Min(max - min, taps);
                double total = 0;
                for (var k = 0; k < n; k++)
                {
                    var distance = Math.Abs((min + k - center + 0.5) / filterScale);
                    raw[k] = distance < 1.0 ? 1.0 - distance : 0.0;
                    total += raw[k];
                }

                for (var k = 0; k < n; k++)
                {
                    var normalised = total != 0 ? raw[k] / total : 0;
                    weights[(i * taps) + k] = (int)((normalised * (1 << PrecisionBits)) + 0.5);
                }

                start[i] = min;
                counts[i] = n;
            }

            return new FilterTaps(start, counts, weights, taps);
        }
    }
}

/// <summary>A rectangle of the resized image, in its pixels.</summary>
internal readonly record struct CropWindow(int Left, int Top, int Width, int Height);
