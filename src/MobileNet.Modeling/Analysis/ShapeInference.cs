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
internal sealed partial class ShapeInference
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
}
