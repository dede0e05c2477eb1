using MobileNet.Modeling.Onnx;
using Onnx;

namespace MobileNet.Modeling.Analysis;

/// <summary>Output-shape formulas of the ONNX operators (convolution, pooling, MatMul, broadcasting) and the small
/// arithmetic they share; pure functions of the input shapes and attributes.</summary>
internal static class ShapeFormulas
{
    public static long NormalizeAxis(long axis, int rank)
    {
        var a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
        {
            throw new ArgumentException($"axis {axis} out of range for rank {rank}");
        }

        return a;
    }

    public static long[]? InferConvolution(NodeProto node, long[]? x, long[]? w, bool transpose)
    {
        if (x is null || w is null || x.Length < 3 || w.Length != x.Length)
        {
            return null;
        }

        var spatial = x.Length - 2;
        var kernel = node.GetInts("kernel_shape") ?? w[2..];
        var strides = node.GetInts("strides") ?? Filled(spatial, 1);
        var dilations = node.GetInts("dilations") ?? Filled(spatial, 1);
        var pads = node.GetInts("pads") ?? Filled(2 * spatial, 0);
        var autoPad = node.GetString("auto_pad", "NOTSET");
        if (kernel.Length != spatial || strides.Length != spatial || dilations.Length != spatial || pads.Length != 2 * spatial)
        {
            throw new ArgumentException("kernel_shape, strides, dilations or pads do not match the input rank");
        }

        var group = node.GetInt("group", 1);
        var y = new long[x.Length];
        y[0] = x[0];
        y[1] = transpose ? checked(w[1] * group) : w[0];
        var outputShape = transpose ? node.GetInts("output_shape") : null;
        var outputPadding = node.GetInts("output_padding") ?? Filled(spatial, 0);
        for (var i = 0; i < spatial; i++)
        {
            var input = x[i + 2];
            var extent = checked(((kernel[i] - 1) * dilations[i]) + 1);
            if (strides[i] <= 0)
            {
                throw new ArgumentException("stride must be positive");
            }

            if (transpose)
            {
                y[i + 2] = outputShape is { Length: > 0 } ? outputShape[^(spatial - i)]
                    : autoPad is "SAME_UPPER" or "SAME_LOWER" ? checked(input * strides[i])
                    : checked((strides[i] * (input - 1)) + outputPadding[i] + extent - pads[i] - pads[i + spatial]);
            }
            else
            {
                y[i + 2] = autoPad switch
                {
                    "SAME_UPPER" or "SAME_LOWER" => CeilDiv(input, strides[i]),
                    "VALID" => ((input - extent) / strides[i]) + 1,
                    _ => ((input + pads[i] + pads[i + spatial] - extent) / strides[i]) + 1,
                };
            }

            if (y[i + 2] <= 0)
            {
                throw new ArgumentException($"spatial dimension {i} comes out as {y[i + 2]}");
            }
        }

        return y;
    }

    public static long[]? InferPool(NodeProto node, long[]? x)
    {
        if (x is null || x.Length < 3 || node.GetInts("kernel_shape") is not { } kernel || kernel.Length != x.Length - 2)
        {
            return null;
        }

        var spatial = x.Length - 2;
        var strides = node.GetInts("strides") ?? Filled(spatial, 1);
        var dilations = node.GetInts("dilations") ?? Filled(spatial, 1);
        var pads = node.GetInts("pads") ?? Filled(2 * spatial, 0);
        var ceil = node.GetInt("ceil_mode", 0) != 0;
        var autoPad = node.GetString("auto_pad", "NOTSET");
        if (strides.Length != spatial || dilations.Length != spatial || pads.Length != 2 * spatial)
        {
            throw new ArgumentException("strides, dilations or pads do not match the input rank");
        }

        var y = (long[])x.Clone();
        for (var i = 0; i < spatial; i++)
        {
            var extent = checked(((kernel[i] - 1) * dilations[i]) + 1);
            var span = autoPad switch
            {
                "SAME_UPPER" or "SAME_LOWER" => -1,
                "VALID" => x[i + 2] - extent,
                _ => x[i + 2] + pads[i] + pads[i + spatial] - extent,
            };
            if (strides[i] <= 0)
            {
                throw new ArgumentException("stride must be positive");
            }

            y[i + 2] = span < 0 && autoPad is "SAME_UPPER" or "SAME_LOWER" ? CeilDiv(x[i + 2], strides[i])
                : (ceil ? CeilDiv(span, strides[i]) : span / strides[i]) + 1;
        }

        return y;
    }

    public static long[]? InferMatMul(long[]? a, long[]? b)
    {
        if (a is null || b is null || a.Length == 0 || b.Length == 0)
        {
            return null;
        }

        var a2 = a.Length == 1 ? [1, a[0]] : a;
        var b2 = b.Length == 1 ? [b[0], 1] : b;
        var batch = Broadcast([a2[..^2], b2[..^2]]);
        if (batch is null)
        {
            return null;
        }

        var result = new List<long>(batch);
        if (a.Length > 1)
        {
            result.Add(a2[^2]);
        }

        if (b.Length > 1)
        {
            result.Add(b2[^1]);
        }

        return [.. result];
    }

    public static long[]? Broadcast(IReadOnlyList<long[]?> shapes)
    {
        if (shapes.Count == 0 || shapes.Any(s => s is null))
        {
            return null;
        }

        var rank = shapes.Max(s => s!.Length);
        var result = new long[rank];
        for (var i = 0; i < rank; i++)
        {
            long d = 1;
            foreach (var s in shapes)
            {
                var offset = i - (rank - s!.Length);
                if (offset < 0)
                {
                    continue;
                }

                var v = s[offset];
                if (v != 1)
                {
                    if (d != 1 && d != v)
                    {
                        throw new ArgumentException($"shapes [{string.Join(",", s)}] do not broadcast");
                    }

                    d = v;
                }
            }

            result[i] = d;
        }

        return result;
    }

    public static long CeilDiv(long a, long b) => (a + b - 1) / b;

    public static long[] Filled(int count, long value) => [.. Enumerable.Repeat(value, count)];

    public static long Product(IReadOnlyList<long> shape)
    {
        long p = 1;
        foreach (var d in shape)
        {
            p = checked(p * d);
        }

        return p;
    }

    public static long SpatialProduct(long[] shape, bool nhwc)
    {
        long p = 1;
        var (from, to) = nhwc ? (1, shape.Length - 1) : (2, shape.Length);
        for (var i = from; i < to; i++)
        {
            p = checked(p * shape[i]);
        }

        return p;
    }
}
