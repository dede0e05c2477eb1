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
    public static void ResizeCrop(
        ReadOnlySpan<byte> source, int sourceWidth, int sourceHeight, int resizedWidth, int resizedHeight, CropWindow window, Span<float> destination)
    {
        var columns = FilterTaps.Create(sourceWidth, resizedWidth, window.Left, window.Width);
        var rows = FilterTaps.Create(sourceHeight, resizedHeight, window.Top, window.Height);
        int firstRow = rows.MinSource, rowCount = rows.MaxSourceExclusive - rows.MinSource;
        var stride = window.Width * 3;

        // Horizontal pass: the window's columns for every source row the vertical taps touch.
        var horizontal = System.Buffers.ArrayPool<byte>.Shared.Rent(rowCount * stride);
        try
        {
            for (var r = 0; r < rowCount; r++)
            {
                var row = source.Slice((firstRow + r) * sourceWidth * 4, sourceWidth * 4);
                var output = horizontal.AsSpan(r * stride, stride);
                for (var x = 0; x < window.Width; x++)
                {
                    var start = columns.Start[x] * 4;
                    var weights = columns.WeightsOf(x);
                    int red = Half, green = Half, blue = Half;
                    for (var k = 0; k < weights.Length; k++)
                    {
                        var p = start + (k * 4);
                        var w = weights[k];
                        red += row[p] * w;
                        green += row[p + 1] * w;
                        blue += row[p + 2] * w;
                    }

                    output[x * 3] = Level(red);
                    output[(x * 3) + 1] = Level(green);
                    output[(x * 3) + 2] = Level(blue);
                }
            }

            // Vertical pass.
            for (var y = 0; y < window.Height; y++)
            {
                var start = rows.Start[y] - firstRow;
                var weights = rows.WeightsOf(y);
                var output = destination.Slice(y * stride, stride);
                for (var i = 0; i < stride; i++)
                {
                    var sum = Half;
                    for (var k = 0; k < weights.Length; k++)
                    {
                        sum += horizontal[((start + k) * stride) + i] * weights[k];
                    }

                    output[i] = Level(sum);
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(horizontal);
        }
    }

    private static byte Level(int fixedPoint) => (byte)Math.Clamp(fixedPoint >> PrecisionBits, 0, 255);

    /// <summary>Per output index: the first source index and the fixed-point weights of the source indices it blends.</summary>
    private sealed class FilterTaps
    {
        private readonly int[] weights;
        private readonly int taps;
        private readonly int[] counts;

        private FilterTaps(int[] start, int[] counts, int[] weights, int taps)
        {
            Start = start;
            this.counts = counts;
            this.weights = weights;
            this.taps = taps;
            MinSource = start.Length == 0 ? 0 : start.Min();
            MaxSourceExclusive = start.Length == 0 ? 0 : start.Select((s, i) => s + counts[i]).Max();
        }

        public int[] Start { get; }

        public int MinSource { get; }

        public int MaxSourceExclusive { get; }

        public ReadOnlySpan<int> WeightsOf(int output) => weights.AsSpan(output * taps, counts[output]);

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
