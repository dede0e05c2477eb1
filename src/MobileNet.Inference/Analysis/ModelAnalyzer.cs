using MobileNet.Inference.Onnx;

namespace MobileNet.Inference.Analysis;

/// <summary>
/// Counts parameters and multiply-adds of any ONNX model (definitions on <see cref="ModelAnalysis"/>), inferring
/// tensor shapes through the graph at batch size 1: symbolic dimensions ("batch") are taken as 1. Shapes come from
/// the operator semantics (convolutions, pooling, Gemm/MatMul, elementwise and broadcasting ops, Flatten, Reshape with
/// constant shapes, Transpose, Concat, Squeeze/Unsqueeze, Slice, Pad, reductions, quantize/dequantize and the
/// com.microsoft QLinear* ops) with a light constant folding of shape arithmetic (Shape, Gather, Concat, ...);
/// where an operator is not understood the graph's own value_info is used, and failing that the analysis lists a
/// warning and counts what it can.
/// </summary>
public static class ModelAnalyzer
{
    private const string MicrosoftDomain = "com.microsoft";

    public static ModelAnalysis Analyze(OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        try
        {
            return new GraphWalk(model.Graph).Run();
        }
        catch (OverflowException ex)
        {
            throw new OnnxFormatException("invalid ONNX file: tensor sizes in the graph overflow 64-bit counts", ex);
        }
    }

    private enum InputRole
    {
        Data,
        Weight,
        Bias,
        BatchNorm,
        NotParameter,
    }

    private sealed class GraphWalk(OnnxGraph graph)
    {
        private readonly Dictionary<string, OnnxTensor> _initializers = [];
        private readonly Dictionary<string, long[]?> _shapes = [];
        private readonly Dictionary<string, long[]> _constants = [];
        private readonly Dictionary<string, long[]> _declared = [];
        private readonly HashSet<string> _counted = [];
        private readonly List<string> _warnings = [];
        private readonly HashSet<string> _unknownOps = [];

        public ModelAnalysis Run()
        {
            foreach (var tensor in graph.Initializers)
            {
                _initializers[tensor.Name] = tensor;
                _shapes[tensor.Name] = [.. tensor.Dims];
                if (tensor.TryGetIntegers() is { } values)
                {
                    _constants[tensor.Name] = values;
                }
            }

            foreach (var value in graph.ValueInfo.Concat(graph.Outputs))
            {
                if (ToBatchOneShape(value) is { } shape)
                {
                    _declared[value.Name] = shape;
                }
            }

            var inputs = new List<TensorSignature>();
            foreach (var input in graph.Inputs)
            {
                // Before IR 4 initializers were also listed as inputs; they are weights, not model inputs.
                if (_initializers.ContainsKey(input.Name))
                {
                    continue;
                }

                inputs.Add(Signature(input));
                _shapes[input.Name] = ToBatchOneShape(input);
            }

            long parameters = 0, batchNormParameters = 0, multiplyAdds = 0;
            var layers = new List<LayerStatistics>();
            for (var index = 0; index < graph.Nodes.Count; index++)
            {
                var node = graph.Nodes[index];
                var outputs = InferOutputs(node);
                for (var i = 0; i < node.Outputs.Count; i++)
                {
                    var name = node.Outputs[i];
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

                var (learned, normalization) = CountParameters(node);
                long macs;
                try
                {
                    macs = MultiplyAdds(node);
                }
                catch (IndexOutOfRangeException)
                {
                    // Declared shapes of the wrong rank (a broken or hostile file): count nothing for this layer.
                    Warn($"{QualifiedOp(node)} '{node.Name}': shapes of unexpected rank, its multiply-adds are not counted");
                    macs = 0;
                }

                parameters += learned;
                batchNormParameters += normalization;
                multiplyAdds += macs;
                if (learned > 0 || normalization > 0 || macs > 0 || IsComputeLayer(node))
                {
                    var label = node.Name.Length > 0 ? node.Name : $"{node.OpType}_{index}";
                    var outputShape = node.Outputs.Count > 0 ? Shape(node.Outputs[0]) : null;
                    layers.Add(new LayerStatistics(label, QualifiedOp(node), outputShape, learned + normalization, macs));
                }
            }

            return new ModelAnalysis(
                inputs, [.. graph.Outputs.Select(Signature)], parameters, batchNormParameters, multiplyAdds, layers, _warnings);
        }

        private static string QualifiedOp(OnnxNode node) =>
            node.Domain is "" or "ai.onnx" ? node.OpType : $"{node.Domain}.{node.OpType}";

        private static TensorSignature Signature(OnnxValueInfo value) => new(
            value.Name,
            value.TensorType is { } t ? OnnxDataTypes.Name(t.ElementType) : "non-tensor",
            value.TensorType?.Shape?.Select(d => d.ToString()).ToArray());

        private static long[]? ToBatchOneShape(OnnxValueInfo value)
        {
            if (value.TensorType?.Shape is not { } dims)
            {
                return null;
            }

            var shape = new long[dims.Count];
            for (var i = 0; i < dims.Count; i++)
            {
                // Symbolic and unknown dimensions (the batch) count as 1: figures are per image.
                shape[i] = dims[i].Value is { } v && v >= 0 ? v : 1;
            }

            return shape;
        }

        private long[]? Shape(string? name) => name is not null && _shapes.TryGetValue(name, out var s) ? s : null;

        private long[]? InputShape(OnnxNode node, int index) => Shape(node.InputAt(index));

        private long[]? Constant(OnnxNode node, int index) =>
            node.InputAt(index) is { } name && _constants.TryGetValue(name, out var c) ? c : null;

        private void Warn(string message)
        {
            if (_warnings.Count < 50)
            {
                _warnings.Add(message);
            }
        }

        private static bool IsComputeLayer(OnnxNode node) => WeightInput(node) >= 0;

        /// <summary>Index of the weight (or right-hand matrix) input of a convolution / matrix-multiply node, else -1.</summary>
        private static int WeightInput(OnnxNode node) => node.OpType switch
        {
            "Conv" or "ConvTranspose" or "ConvInteger" or "FusedConv" or "NhwcConv" => 1,
            "QLinearConv" => 3,
            "Gemm" or "FusedGemm" or "MatMul" or "MatMulInteger" or "FusedMatMul" or "MatMulIntegerToFloat" => 1,
            "QGemm" or "QLinearMatMul" => 3,
            _ => -1,
        };

        private static InputRole Role(OnnxNode node, int index)
        {
            switch (node.OpType)
            {
                case "Conv" or "ConvTranspose" or "FusedConv" or "NhwcConv":
                    return index == 1 ? InputRole.Weight : index == 2 ? InputRole.Bias : InputRole.Data;
                case "ConvInteger":
                    return index == 1 ? InputRole.Weight : index >= 2 ? InputRole.NotParameter : InputRole.Data;
                case "QLinearConv":
                    return index switch { 0 => InputRole.Data, 3 => InputRole.Weight, 8 => InputRole.Bias, _ => InputRole.NotParameter };
                case "Gemm" or "FusedGemm" or "MatMul" or "FusedMatMul":
                    return index <= 1 ? InputRole.Weight : InputRole.Bias;
                case "MatMulInteger":
                    return index <= 1 ? InputRole.Weight : InputRole.NotParameter;
                case "MatMulIntegerToFloat":
                    return index <= 1 ? InputRole.Weight : index == 6 ? InputRole.Bias : InputRole.NotParameter;
                case "QLinearMatMul":
                    return index is 0 or 3 ? InputRole.Weight : InputRole.NotParameter;
                case "QGemm":
                    return index switch { 0 or 3 => InputRole.Weight, 6 => InputRole.Bias, _ => InputRole.NotParameter };
                case "BatchNormalization":
                    return index == 0 ? InputRole.Data : InputRole.BatchNorm;
                case "QuantizeLinear" or "DequantizeLinear":
                    return index == 0 ? InputRole.Data : InputRole.NotParameter;
                case "QLinearAdd" or "QLinearMul":
                    return index is 0 or 3 ? InputRole.Data : InputRole.NotParameter;
                case "QLinearConcat":
                    return index >= 2 && (index - 2) % 3 == 0 ? InputRole.Data : InputRole.NotParameter;
                case "QLinearGlobalAveragePool" or "QLinearAveragePool" or "QLinearSigmoid" or "QLinearLeakyRelu"
                    or "QLinearSoftmax" or "QLinearReduceMean":
                    return index == 0 ? InputRole.Data : InputRole.NotParameter;
                case "Reshape" or "Expand" or "Tile" or "Slice" or "Pad" or "Resize" or "Upsample" or "Squeeze"
                    or "Unsqueeze" or "Split" or "Clip" or "TopK" or "OneHot" or "CumSum" or "Gather" or "GatherElements"
                    or "ScatterElements" or "ScatterND" or "GatherND":
                    return index == 0 ? InputRole.Data : InputRole.NotParameter;
                case "ConstantOfShape" or "Range" or "Shape" or "Size":
                    return InputRole.NotParameter;
                default:
                    return node.OpType.StartsWith("Reduce", StringComparison.Ordinal) && index > 0
                        ? InputRole.NotParameter
                        : InputRole.Data;
            }
        }

        private (long Learned, long BatchNorm) CountParameters(OnnxNode node)
        {
            long learned = 0, batchNorm = 0;
            for (var i = 0; i < node.Inputs.Count; i++)
            {
                var name = node.Inputs[i];
                if (name.Length == 0 || !_initializers.TryGetValue(name, out var tensor))
                {
                    continue;
                }

                var role = Role(node, i);
                var elements = tensor.ElementCount;
                var counts = role switch
                {
                    InputRole.Weight or InputRole.Bias or InputRole.BatchNorm => true,
                    // Scalars feeding arithmetic are constants (a 255 divisor, ReLU6 bounds), not learned weights.
                    InputRole.Data => elements >= 2 && OnnxDataTypes.CanHoldWeights(tensor.DataType),
                    _ => false,
                };
                if (!counts || !_counted.Add(name))
                {
                    continue;
                }

                if (role == InputRole.BatchNorm)
                {
                    batchNorm += elements;
                }
                else
                {
                    learned += elements;
                }
            }

            return (learned, batchNorm);
        }

        private long MultiplyAdds(OnnxNode node)
        {
            var weightIndex = WeightInput(node);
            if (weightIndex < 0)
            {
                return 0;
            }

            var x = InputShape(node, 0);
            var w = InputShape(node, weightIndex);
            var y = node.Outputs.Count > 0 ? Shape(node.Outputs[0]) : null;
            if (x is null || w is null || y is null)
            {
                Warn($"{QualifiedOp(node)} '{node.Name}': input or output shape unknown, its multiply-adds are not counted");
                return 0;
            }

            switch (node.OpType)
            {
                case "Conv" or "ConvInteger" or "QLinearConv" or "FusedConv" or "NhwcConv":
                    // Each output element of each output channel takes (C/group) * prod(kernel) multiply-adds,
                    // and prod(W.shape) = M * (C/group) * prod(kernel).
                    return checked(y[0] * SpatialProduct(y, node.OpType == "NhwcConv") * Product(w));
                case "ConvTranspose":
                    return checked(x[0] * SpatialProduct(x, nhwc: false) * Product(w));
                case "Gemm" or "FusedGemm" or "QGemm":
                    {
                        if (x.Length != 2 || w.Length != 2)
                        {
                            Warn($"{QualifiedOp(node)} '{node.Name}': expected 2-D inputs");
                            return 0;
                        }

                        var transA = node.GetInt("transA", 0) != 0;
                        var transB = node.GetInt("transB", 0) != 0;
                        var m = transA ? x[1] : x[0];
                        var k = transA ? x[0] : x[1];
                        var n = transB ? w[0] : w[1];
                        if ((transB ? w[1] : w[0]) != k)
                        {
                            Warn($"{QualifiedOp(node)} '{node.Name}': inner dimensions differ ({k} and {(transB ? w[1] : w[0])})");
                        }

                        return checked(m * k * n);
                    }

                default:
                    {
                        // MatMul family: numpy semantics; the product over the output's batch dims times M*K*N.
                        var k = x.Length == 0 ? 1 : x[^1];
                        return checked(Product(y) * k);
                    }
            }
        }

        private static long Product(IReadOnlyList<long> shape)
        {
            long p = 1;
            foreach (var d in shape)
            {
                p = checked(p * d);
            }

            return p;
        }

        private static long SpatialProduct(long[] shape, bool nhwc)
        {
            long p = 1;
            var (from, to) = nhwc ? (1, shape.Length - 1) : (2, shape.Length);
            for (var i = from; i < to; i++)
            {
                p = checked(p * shape[i]);
            }

            return p;
        }

        private long[]?[] InferOutputs(OnnxNode node)
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
                Warn($"{QualifiedOp(node)} '{node.Name}': shapes inconsistent ({ex.Message})");
                first = null;
            }

            if (first is null && !_declared.ContainsKey(node.Outputs.FirstOrDefault() ?? "")
                && !IsShapeless(node) && _unknownOps.Add(QualifiedOp(node)))
            {
                Warn($"{QualifiedOp(node)}: output shape not inferred (first at '{node.Name}'); layers after it may be missing counts");
            }

            if (node.OpType == "Split")
            {
                return InferSplit(node);
            }

            // Other operators' extra outputs (training-mode statistics, Dropout masks) take no part in the counts.
            var result = new long[]?[Math.Max(1, node.Outputs.Count)];
            result[0] = first;
            return result;
        }

        private static bool IsShapeless(OnnxNode node) => node.Outputs.Count == 0 || node.OpType == "Split";

        private long[]? InferFirstOutput(OnnxNode node)
        {
            var x = InputShape(node, 0);
            switch (node.OpType)
            {
                case "Constant":
                    return InferConstant(node);
                case "Conv" or "ConvInteger" or "QLinearConv" or "FusedConv":
                    return InferConvolution(node, x, InputShape(node, WeightInput(node)), transpose: false);
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
                        var w = InputShape(node, WeightInput(node));
                        if (x is not { Length: 2 } || w is not { Length: 2 })
                        {
                            return null;
                        }

                        var m = node.GetInt("transA", 0) != 0 ? x[1] : x[0];
                        var n = node.GetInt("transB", 0) != 0 ? w[0] : w[1];
                        return [m, n];
                    }

                case "MatMul" or "MatMulInteger" or "QLinearMatMul" or "FusedMatMul" or "MatMulIntegerToFloat":
                    return InferMatMul(x, InputShape(node, WeightInput(node)));
                case "Add" or "Sub" or "Mul" or "Div" or "Pow" or "Max" or "Min" or "Sum" or "Mean" or "Equal"
                    or "Greater" or "Less" or "GreaterOrEqual" or "LessOrEqual" or "And" or "Or" or "Xor" or "Mod"
                    or "Where" or "BitShift" or "PRelu":
                    {
                        var shapes = Enumerable.Range(0, node.Inputs.Count).Select(i => InputShape(node, i)).ToList();
                        var folded = FoldArithmetic(node);
                        if (folded is not null)
                        {
                            _constants[node.Outputs[0]] = folded;
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
                        _constants[node.Outputs[0]] = values;
                        return [values.Length];
                    }

                case "Size":
                    if (x is not null)
                    {
                        _constants[node.Outputs[0]] = [Product(x)];
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
                        _constants[node.Outputs[0]] = constant;
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
        private static bool KeepsShape(OnnxNode node) => node.OpType is "Relu" or "Clip" or "Sigmoid" or "Tanh"
            or "LeakyRelu" or "HardSigmoid" or "HardSwish" or "Softmax" or "LogSoftmax" or "Hardmax" or "Elu" or "Selu"
            or "Celu" or "Gelu" or "FastGelu" or "BiasGelu" or "Softplus" or "Softsign" or "ThresholdedRelu" or "Mish"
            or "BatchNormalization" or "InstanceNormalization" or "LayerNormalization" or "GroupNormalization"
            or "SkipLayerNormalization" or "LRN" or "MeanVarianceNormalization" or "Dropout" or "QuantizeLinear"
            or "DequantizeLinear" or "DynamicQuantizeLinear" or "Abs" or "Neg" or "Exp" or "Log" or "Sqrt"
            or "Reciprocal" or "Floor" or "Ceil" or "Round" or "Sign" or "Erf" or "Not" or "Sin" or "Cos"
            or "IsNaN" or "IsInf" or "QLinearSigmoid" or "QLinearLeakyRelu" or "QLinearSoftmax" or "Shrink"
            or "CumSum" or "LpNormalization" or "Trilu";

        private static long NormalizeAxis(long axis, int rank)
        {
            var a = axis < 0 ? axis + rank : axis;
            if (a < 0 || a >= rank)
            {
                throw new ArgumentException($"axis {axis} out of range for rank {rank}");
            }

            return a;
        }

        private long[]? InferConstant(OnnxNode node)
        {
            var output = node.Outputs.Count > 0 ? node.Outputs[0] : "";
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

        private static long[]? InferConvolution(OnnxNode node, long[]? x, long[]? w, bool transpose)
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

        private static long[]? InferPool(OnnxNode node, long[]? x)
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

        private static long[]? InferMatMul(long[]? a, long[]? b)
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

        private static long[]? Broadcast(IReadOnlyList<long[]?> shapes)
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

        private long[]? InferReshape(OnnxNode node, long[]? x, long[]? target)
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
                _constants[node.Outputs[0]] = values;
            }

            return y;
        }

        private long[]? InferConcat(OnnxNode node)
        {
            var indices = node.OpType == "QLinearConcat"
                ? Enumerable.Range(0, node.Inputs.Count).Where(i => i >= 2 && (i - 2) % 3 == 0).ToList()
                : [.. Enumerable.Range(0, node.Inputs.Count)];
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
                _constants[node.Outputs[0]] = [.. indices.SelectMany(i => Constant(node, i)!)];
            }

            return y;
        }

        private long[]? InferSqueeze(OnnxNode node, long[]? x, long[]? axes)
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

        private long[]? InferUnsqueeze(OnnxNode node, long[]? x, long[]? axes)
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

        private void PassConstant(OnnxNode node)
        {
            if (node.InputAt(0) is { } source && _constants.TryGetValue(source, out var values))
            {
                _constants[node.Outputs[0]] = values;
            }
        }

        private long[]? InferGather(OnnxNode node, long[]? x)
        {
            var indices = InputShape(node, 1);
            if (x is null || indices is null || x.Length == 0)
            {
                return null;
            }

            var axis = (int)NormalizeAxis(node.GetInt("axis", 0), x.Length);
            if (x.Length == 1 && Constant(node, 0) is { } data && Constant(node, 1) is { } picks)
            {
                _constants[node.Outputs[0]] = [.. picks.Select(p => data[(int)(p < 0 ? p + data.Length : p)])];
            }

            return [.. x[..axis], .. indices, .. x[(axis + 1)..]];
        }

        private long[]? InferSlice(OnnxNode node, long[]? x)
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

                _constants[node.Outputs[0]] = [.. values];
            }

            return y;
        }

        private long[]? InferReduce(OnnxNode node, long[]? x)
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

        private long[]?[] InferSplit(OnnxNode node)
        {
            var result = new long[]?[node.Outputs.Count];
            var x = InputShape(node, 0);
            if (x is null || x.Length == 0 || node.Outputs.Count == 0)
            {
                return result;
            }

            var axis = (int)NormalizeAxis(node.GetInt("axis", 0), x.Length);
            var sizes = Constant(node, 1) ?? node.GetInts("split");
            if (sizes is null)
            {
                var parts = node.Outputs.Count;
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
        private long[]? FoldArithmetic(OnnxNode node)
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

        private static long CeilDiv(long a, long b) => (a + b - 1) / b;

        private static long[] Filled(int count, long value) => [.. Enumerable.Repeat(value, count)];
    }
}
