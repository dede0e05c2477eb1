using MobileNet.Modeling.Onnx;
using Onnx;
using static MobileNet.Modeling.Analysis.ShapeFormulas;

namespace MobileNet.Modeling.Analysis;

/// <summary>
/// Shapes of the operators that move data around rather than compute on it (Reshape, Concat, Squeeze/Unsqueeze,
/// Gather, Slice, Split, reductions), and the constant folding of small integer tensors through them and through
/// shape arithmetic, so that a Reshape target built from Shape/Gather/Concat is known.
/// </summary>
internal sealed partial class ShapeInference
{
    private long[]? InferReshape(NodeProto node, long[]? x, long[]? target)
    {
        if (target is null)
        {
            return null;
        }

        var allowZero = node.GetInt("allowzero", 0) != 0;
        var y = (long[])target.Clone();
        var inferred = -1;
        for (var i = 0; i < y.Length; i++)
        {
            if (y[i] == 0 && !allowZero)
            {
                if (x is null || i >= x.Length)
                {
                    return null;
                }

                y[i] = x[i];
            }
            else if (y[i] == -1)
            {
                if (inferred >= 0)
                {
                    throw new ArgumentException("Reshape target has two -1 entries");
                }

                inferred = i;
            }
            else if (y[i] < 0)
            {
                throw new ArgumentException($"Reshape target has {y[i]}");
            }
        }

        if (inferred >= 0)
        {
            if (x is null)
            {
                return null;
            }

            var known = y.Where((_, i) => i != inferred).Aggregate(1L, (p, d) => checked(p * d));
            if (known == 0)
            {
                throw new ArgumentException("Reshape cannot infer a dimension next to a zero");
            }

            y[inferred] = Product(x) / known;
        }

        if (node.InputAt(0) is { } source && _constants.TryGetValue(source, out var values) && values.Length == Product(y))
        {
            _constants[node.Output[0]] = values;
        }

        return y;
    }

    private long[]? InferConcat(NodeProto node)
    {
        var indices = node.OpType == "QLinearConcat"
            ? Enumerable.Range(0, node.Input.Count).Where(i => i >= 2 && (i - 2) % 3 == 0).ToList()
            : [.. Enumerable.Range(0, node.Input.Count)];
        var shapes = indices.Select(i => InputShape(node, i)).ToList();
        if (shapes.Count == 0 || shapes.Any(s => s is null))
        {
            return null;
        }

        var rank = shapes[0]!.Length;
        var axis = (int)NormalizeAxis(node.GetInt("axis", 0), rank);
        var y = (long[])shapes[0]!.Clone();
        y[axis] = 0;
        foreach (var s in shapes)
        {
            if (s!.Length != rank)
            {
                throw new ArgumentException("Concat inputs differ in rank");
            }

            y[axis] = checked(y[axis] + s[axis]);
        }

        // Fold shape arithmetic: concatenating constant 1-D integer tensors.
        if (rank == 1 && indices.All(i => Constant(node, i) is not null))
        {
            _constants[node.Output[0]] = [.. indices.SelectMany(i => Constant(node, i)!)];
        }

        return y;
    }

    private long[]? InferSqueeze(NodeProto node, long[]? x, long[]? axes)
    {
        if (x is null)
        {
            return null;
        }

        var remove = axes is null
            ? [.. Enumerable.Range(0, x.Length).Where(i => x[i] == 1)]
            : axes.Select(a => (int)NormalizeAxis(a, x.Length)).ToHashSet();
        PassConstant(node);
        return [.. x.Where((_, i) => !remove.Contains(i))];
    }

    private long[]? InferUnsqueeze(NodeProto node, long[]? x, long[]? axes)
    {
        if (x is null || axes is null)
        {
            return null;
        }

        var rank = x.Length + axes.Length;
        var inserted = axes.Select(a => (int)NormalizeAxis(a, rank)).ToHashSet();
        var y = new long[rank];
        var source = 0;
        for (var i = 0; i < rank; i++)
        {
            y[i] = inserted.Contains(i) ? 1 : x[source++];
        }

        PassConstant(node);
        return y;
    }

    private void PassConstant(NodeProto node)
    {
        if (node.InputAt(0) is { } source && _constants.TryGetValue(source, out var values))
        {
            _constants[node.Output[0]] = values;
        }
    }

    private long[]? InferGather(NodeProto node, long[]? x)
    {
        var indices = InputShape(node, 1);
        if (x is null || indices is null || x.Length == 0)
        {
            return null;
        }

        var axis = (int)NormalizeAxis(node.GetInt("axis", 0), x.Length);
        if (x.Length == 1 && Constant(node, 0) is { } data && Constant(node, 1) is { } picks)
        {
            _constants[node.Output[0]] = [.. picks.Select(p => data[(int)(p < 0 ? p + data.Length : p)])];
        }

        return [.. x[..axis], .. indices, .. x[(axis + 1)..]];
    }

    private long[]? InferSlice(NodeProto node, long[]? x)
    {
        if (x is null)
        {
            return null;
        }

        var starts = Constant(node, 1) ?? node.GetInts("starts");
        var ends = Constant(node, 2) ?? node.GetInts("ends");
        if (starts is null || ends is null || starts.Length != ends.Length)
        {
            return null;
        }

        var axes = (node.InputAt(3) is not null ? Constant(node, 3) : node.GetInts("axes"))
            ?? [.. Enumerable.Range(0, starts.Length).Select(i => (long)i)];
        var steps = node.InputAt(4) is not null ? Constant(node, 4) : Filled(starts.Length, 1);
        if (steps is null || axes.Length != starts.Length || steps.Length != starts.Length)
        {
            return null;
        }

        var y = (long[])x.Clone();
        var ranges = new (long Start, long End, long Step)[x.Length];
        for (var i = 0; i < x.Length; i++)
        {
            ranges[i] = (0, x[i], 1);
        }

        for (var i = 0; i < starts.Length; i++)
        {
            var axis = (int)NormalizeAxis(axes[i], x.Length);
            var dim = x[axis];
            var step = steps[i];
            if (step == 0)
            {
                throw new ArgumentException("Slice step is 0");
            }

            // ONNX clamps to [0, dim] for positive steps; for negative steps starts to [0, dim-1], ends to [-1, dim-1].
            long Clamp(long v, long low)
            {
                v = v < 0 ? v + dim : v;
                return step > 0 ? Math.Clamp(v, 0, dim) : Math.Clamp(v, low, dim - 1);
            }

            var s = Clamp(starts[i], 0);
            var e = Clamp(ends[i], -1);
            y[axis] = step > 0 ? Math.Max(0, CeilDiv(e - s, step)) : Math.Max(0, CeilDiv(s - e, -step));
            ranges[axis] = (s, e, step);
        }

        if (x.Length == 1 && Constant(node, 0) is { } data && ranges[0].Step > 0)
        {
            var (s, e, step) = ranges[0];
            var values = new List<long>();
            for (var v = s; v < e; v += step)
            {
                values.Add(data[v]);
            }

            _constants[node.Output[0]] = [.. values];
        }

        return y;
    }

    private long[]? InferReduce(NodeProto node, long[]? x)
    {
        if (x is null)
        {
            return null;
        }

        var keepDims = node.GetInt("keepdims", 1) != 0;
        long[]? axes = node.OpType is "ArgMax" or "ArgMin" ? [node.GetInt("axis", 0)] : node.GetInts("axes") ?? Constant(node, 1);
        if (axes is null && node.InputAt(1) is not null)
        {
            return null;
        }

        var reduced = axes is null || axes.Length == 0
            ? [.. Enumerable.Range(0, x.Length)]
            : axes.Select(a => (int)NormalizeAxis(a, x.Length)).ToHashSet();
        if (axes is { Length: 0 } && node.GetInt("noop_with_empty_axes", 0) != 0)
        {
            return x;
        }

        return keepDims
            ? [.. x.Select((d, i) => reduced.Contains(i) ? 1 : d)]
            : [.. x.Where((_, i) => !reduced.Contains(i))];
    }

    private long[]?[] InferSplit(NodeProto node)
    {
        var result = new long[]?[node.Output.Count];
        var x = InputShape(node, 0);
        if (x is null || x.Length == 0 || node.Output.Count == 0)
        {
            return result;
        }

        var axis = (int)NormalizeAxis(node.GetInt("axis", 0), x.Length);
        var sizes = Constant(node, 1) ?? node.GetInts("split");
        if (sizes is null)
        {
            var parts = node.Output.Count;
            var chunk = CeilDiv(x[axis], parts);
            sizes = [.. Enumerable.Range(0, parts).Select(i => Math.Max(0, Math.Min(chunk, x[axis] - (chunk * i))))];
        }

        for (var i = 0; i < result.Length && i < sizes.Length; i++)
        {
            var y = (long[])x.Clone();
            y[axis] = sizes[i];
            result[i] = y;
        }

        return result;
    }

    /// <summary>Folds integer arithmetic on constant shape tensors (e.g. batch * channels in a Reshape target).</summary>
    private long[]? FoldArithmetic(NodeProto node)
    {
        if (node.OpType is not ("Add" or "Sub" or "Mul" or "Div") || Constant(node, 0) is not { } a
            || Constant(node, 1) is not { } b || (a.Length != b.Length && a.Length != 1 && b.Length != 1))
        {
            return null;
        }

        var n = Math.Max(a.Length, b.Length);
        var result = new long[n];
        for (var i = 0; i < n; i++)
        {
            var l = a[a.Length == 1 ? 0 : i];
            var r = b[b.Length == 1 ? 0 : i];
            result[i] = node.OpType switch
            {
                "Add" => checked(l + r),
                "Sub" => checked(l - r),
                "Mul" => checked(l * r),
                _ => r == 0 ? 0 : l / r,
            };
        }

        return result;
    }
}
