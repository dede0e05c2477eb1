using MobileNet.Modeling.Onnx;
using Onnx;
using static MobileNet.Modeling.Analysis.ShapeFormulas;

namespace MobileNet.Modeling.Analysis;

/// <summary>
/// Infers tensor shapes through a graph at batch size 1, node by node in topological order: symbolic dimensions
/// ("batch") are taken as 1. Shapes come from the operator semantics (convolutions, pooling, Gemm/MatMul, elementwise
/// and broadcasting ops, Flatten, Reshape with constant shapes, Transpose, Concat, Squeeze/Unsqueeze, Slice, Pad,
/// reductions, quantize/dequantize and the com.microsoft QLinear* ops) with a light constant folding of shape
/// arithmetic (Shape, Gather, Concat, ...); where an operator is not understood the graph's own value_info is used,
/// and failing that a warning says so.
/// </summary>
internal sealed class ShapeInference
{
    private readonly Dictionary<string, long[]?> _shapes = [];
    private readonly Dictionary<string, long[]> _constants = [];
    private readonly Dictionary<string, long[]> _declared = [];
    private readonly HashSet<string> _unknownOps = [];
    private readonly AnalysisWarnings _warnings;

    /// <summary>Seeds the shapes of initializers and graph inputs, the constants among initializers, and the shapes
    /// the graph declares (value_info, outputs) as fallbacks.</summary>
    public ShapeInference(GraphProto graph, AnalysisWarnings warnings)
    {
        ArgumentNullException.ThrowIfNull(graph);
        _warnings = warnings;
        foreach (var tensor in graph.Initializer)
        {
            _shapes[tensor.Name] = [.. tensor.Dims];
            if (tensor.TryGetIntegers() is { } values)
            {
                _constants[tensor.Name] = values;
            }
        }

        foreach (var value in graph.ValueInfo.Concat(graph.Output))
        {
            if (ToBatchOneShape(value) is { } shape)
            {
                _declared[value.Name] = shape;
            }
        }

        foreach (var input in graph.Input)
        {
            _shapes.TryAdd(input.Name, ToBatchOneShape(input));
        }
    }

    /// <summary>The declared shape with symbolic and unknown dimensions (the batch) as 1: figures are per image.</summary>
    public static long[]? ToBatchOneShape(ValueInfoProto value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Type?.TensorType?.Shape is not { } shape)
        {
            return null;
        }

        return [.. shape.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue >= 0 ? d.DimValue : 1)];
    }

    /// <summary>Infers and records the shapes of <paramref name="node"/>'s outputs (falling back on declared ones).</summary>
    public void Infer(NodeProto node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var outputs = InferOutputs(node);
        for (var i = 0; i < node.Output.Count; i++)
        {
            var name = node.Output[i];
            if (name.Length == 0)
            {
                continue;
            }

            var shape = i < outputs.Length ? outputs[i] : null;
            if (shape is null && _declared.TryGetValue(name, out var declared))
            {
                shape = declared;
            }

            _shapes[name] = shape;
        }
    }

    /// <summary>The inferred shape of value <paramref name="name"/> at batch size 1, or null when unknown.</summary>
    public long[]? Shape(string? name) => name is not null && _shapes.TryGetValue(name, out var s) ? s : null;

    public long[]? InputShape(NodeProto node, int index) => Shape(node.InputAt(index));

    private long[]? Constant(NodeProto node, int index) =>
        node.InputAt(index) is { } name && _constants.TryGetValue(name, out var c) ? c : null;

    private long[]?[] InferOutputs(NodeProto node)
    {
        long[]? first;
        try
        {
            first = InferFirstOutput(node);
        }
        catch (OverflowException)
        {
            throw;
        }
        catch (Exception ex) when (ex is IndexOutOfRangeException or ArgumentException or InvalidOperationException or DivideByZeroException)
        {
            // Inconsistent shapes in a hostile or broken graph: note it and carry on without this shape.
            _warnings.Add($"{node.QualifiedOpType()} '{node.Name}': shapes inconsistent ({ex.Message})");
            first = null;
        }

        if (first is null && !_declared.ContainsKey(node.Output.FirstOrDefault() ?? "")
            && !IsShapeless(node) && _unknownOps.Add(node.QualifiedOpType()))
        {
            _warnings.Add($"{node.QualifiedOpType()}: output shape not inferred (first at '{node.Name}'); layers after it may be missing counts");
        }

        if (node.OpType == "Split")
        {
            return InferSplit(node);
        }

        // Other operators' extra outputs (training-mode statistics, Dropout masks) take no part in the counts.
        var result = new long[]?[Math.Max(1, node.Output.Count)];
        result[0] = first;
        return result;
    }

    private static bool IsShapeless(NodeProto node) => node.Output.Count == 0 || node.OpType == "Split";

    private long[]? InferFirstOutput(NodeProto node)
    {
        var x = InputShape(node, 0);
        switch (node.OpType)
        {
            case "Constant":
                return InferConstant(node);
            case "Conv" or "ConvInteger" or "QLinearConv" or "FusedConv":
                return InferConvolution(node, x, InputShape(node, OperatorRoles.WeightInput(node)), transpose: false);
            case "ConvTranspose":
                return InferConvolution(node, x, InputShape(node, 1), transpose: true);
            case "MaxPool" or "AveragePool" or "LpPool" or "QLinearAveragePool":
                return InferPool(node, x);
            case "GlobalAveragePool" or "GlobalMaxPool" or "GlobalLpPool" or "QLinearGlobalAveragePool":
                {
                    if (x is null || x.Length < 2)
                    {
                        return null;
                    }

                    var y = (long[])x.Clone();
                    var channelsLast = node.GetInt("channels_last", 0) != 0;
                    for (var i = channelsLast ? 1 : 2; i < (channelsLast ? y.Length - 1 : y.Length); i++)
                    {
                        y[i] = 1;
                    }

                    return y;
                }

            case "Gemm" or "FusedGemm" or "QGemm":
                {
                    var w = InputShape(node, OperatorRoles.WeightInput(node));
                    if (x is not { Length: 2 } || w is not { Length: 2 })
                    {
                        return null;
                    }

                    var m = node.GetInt("transA", 0) != 0 ? x[1] : x[0];
                    var n = node.GetInt("transB", 0) != 0 ? w[0] : w[1];
                    return [m, n];
                }

            case "MatMul" or "MatMulInteger" or "QLinearMatMul" or "FusedMatMul" or "MatMulIntegerToFloat":
                return InferMatMul(x, InputShape(node, OperatorRoles.WeightInput(node)));
            case "Add" or "Sub" or "Mul" or "Div" or "Pow" or "Max" or "Min" or "Sum" or "Mean" or "Equal"
                or "Greater" or "Less" or "GreaterOrEqual" or "LessOrEqual" or "And" or "Or" or "Xor" or "Mod"
                or "Where" or "BitShift" or "PRelu":
                {
                    var shapes = Enumerable.Range(0, node.Input.Count).Select(i => InputShape(node, i)).ToList();
                    var folded = FoldArithmetic(node);
                    if (folded is not null)
                    {
                        _constants[node.Output[0]] = folded;
                    }

                    return Broadcast(shapes);
                }

            case "QLinearAdd" or "QLinearMul":
                return Broadcast([x, InputShape(node, 3)]);
            case "Flatten":
                {
                    if (x is null)
                    {
                        return null;
                    }

                    var axis = NormalizeAxis(node.GetInt("axis", 1), x.Length + 1);
                    return [Product(x[..(int)axis]), Product(x[(int)axis..])];
                }

            case "Reshape":
                return InferReshape(node, x, Constant(node, 1) ?? node.GetInts("shape"));
            case "Transpose":
                {
                    if (x is null)
                    {
                        return null;
                    }

                    var perm = node.GetInts("perm") ?? [.. Enumerable.Range(0, x.Length).Reverse().Select(i => (long)i)];
                    return [.. perm.Select(p => x[(int)NormalizeAxis(p, x.Length)])];
                }

            case "Concat" or "QLinearConcat":
                return InferConcat(node);
            case "Squeeze":
                return InferSqueeze(node, x, node.GetInts("axes") ?? Constant(node, 1));
            case "Unsqueeze":
                return InferUnsqueeze(node, x, node.GetInts("axes") ?? Constant(node, 1));
            case "Shape":
                {
                    if (x is null)
                    {
                        return null;
                    }

                    var start = (int)NormalizeAxis(Math.Clamp(node.GetInt("start", 0), -x.Length, x.Length), x.Length + 1);
                    var end = (int)NormalizeAxis(Math.Clamp(node.GetInt("end", x.Length), -x.Length, x.Length), x.Length + 1);
                    var values = x[start..Math.Max(start, end)];
                    _constants[node.Output[0]] = values;
                    return [values.Length];
                }

            case "Size":
                if (x is not null)
                {
                    _constants[node.Output[0]] = [Product(x)];
                }

                return [];
            case "Gather":
                return InferGather(node, x);
            case "Slice":
                return InferSlice(node, x);
            case "Pad":
                {
                    var pads = Constant(node, 1) ?? node.GetInts("pads");
                    if (x is null || pads is null || pads.Length != 2 * x.Length)
                    {
                        return null;
                    }

                    return [.. x.Select((d, i) => checked(d + pads[i] + pads[i + x.Length]))];
                }

            case "Expand":
                {
                    var shape = Constant(node, 1);
                    return shape is null ? null : Broadcast([x, shape]);
                }

            case "Tile":
                {
                    var repeats = Constant(node, 1);
                    if (x is null || repeats is null || repeats.Length != x.Length)
                    {
                        return null;
                    }

                    return [.. x.Select((d, i) => checked(d * repeats[i]))];
                }

            case "ConstantOfShape":
                return Constant(node, 0);
            case "Cast" or "Identity" or "CastLike":
                if (node.InputAt(0) is { } source && _constants.TryGetValue(source, out var constant))
                {
                    _constants[node.Output[0]] = constant;
                }

                return x;
            default:
                if (node.OpType.StartsWith("Reduce", StringComparison.Ordinal) || node.OpType is "ArgMax" or "ArgMin" or "QLinearReduceMean")
                {
                    return InferReduce(node, x);
                }

                return KeepsShape(node) ? x : null;
        }
    }

    /// <summary>Operators whose first output has the shape of their first input.</summary>
    private static bool KeepsShape(NodeProto node) => node.OpType is "Relu" or "Clip" or "Sigmoid" or "Tanh"
        or "LeakyRelu" or "HardSigmoid" or "HardSwish" or "Softmax" or "LogSoftmax" or "Hardmax" or "Elu" or "Selu"
        or "Celu" or "Gelu" or "FastGelu" or "BiasGelu" or "Softplus" or "Softsign" or "ThresholdedRelu" or "Mish"
        or "BatchNormalization" or "InstanceNormalization" or "LayerNormalization" or "GroupNormalization"
        or "SkipLayerNormalization" or "LRN" or "MeanVarianceNormalization" or "Dropout" or "QuantizeLinear"
        or "DequantizeLinear" or "DynamicQuantizeLinear" or "Abs" or "Neg" or "Exp" or "Log" or "Sqrt"
        or "Reciprocal" or "Floor" or "Ceil" or "Round" or "Sign" or "Erf" or "Not" or "Sin" or "Cos"
        or "IsNaN" or "IsInf" or "QLinearSigmoid" or "QLinearLeakyRelu" or "QLinearSoftmax" or "Shrink"
        or "CumSum" or "LpNormalization" or "Trilu";

    private long[]? InferConstant(NodeProto node)
    {
        var output = node.Output.Count > 0 ? node.Output[0] : "";
        if (node.Attribute("value") is { T: { } tensor })
        {
            if (tensor.TryGetIntegers() is { } values)
            {
                _constants[output] = values;
            }

            return [.. tensor.Dims];
        }

        if (node.Attribute("value_int") is { } i)
        {
            _constants[output] = [i.I];
            return [];
        }

        if (node.Attribute("value_ints") is { } ints)
        {
            _constants[output] = [.. ints.Ints];
            return [ints.Ints.Count];
        }

        if (node.Attribute("value_float") is not null)
        {
            return [];
        }

        return node.Attribute("value_floats") is { } floats ? [floats.Floats.Count] : null;
    }

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
