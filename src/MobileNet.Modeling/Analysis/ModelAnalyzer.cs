using MobileNet.Modeling.Analysis.MultiplyAdds;
using MobileNet.Modeling.Onnx;
using Onnx;

namespace MobileNet.Modeling.Analysis;

/// <summary>
/// Counts parameters and multiply-adds of any ONNX model (definitions on <see cref="ModelAnalysis"/>) at batch size 1:
/// <see cref="ShapeInference"/> follows the tensor shapes node by node, <see cref="ParameterCounter"/> counts the
/// learned tensors, and the rule of each operator family (<see cref="MultiplyAddRules"/>) prices the node.
/// </summary>
public static class ModelAnalyzer
{
    /// <exception cref="OnnxFormatException">The graph's tensor sizes overflow 64-bit counts.</exception>
    public static ModelAnalysis Analyze(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        try
        {
            return Analyze(model.Graph ?? new GraphProto());
        }
        catch (OverflowException ex)
        {
            throw new OnnxFormatException("invalid ONNX file: tensor sizes in the graph overflow 64-bit counts", ex);
        }
    }

    private static ModelAnalysis Analyze(GraphProto graph)
    {
        var warnings = new AnalysisWarnings();
        var shapes = new ShapeInference(graph, warnings);
        var counter = new ParameterCounter(graph);

        // Before IR 4 initializers were also listed as inputs; they are weights, not model inputs.
        var inputs = graph.Input.Where(i => !counter.IsInitializer(i.Name)).Select(Signature).ToList();
        long parameters = 0, batchNormParameters = 0, multiplyAdds = 0, otherOperations = 0;
        var layers = new List<LayerStatistics>();
        for (var index = 0; index < graph.Node.Count; index++)
        {
            var node = graph.Node[index];
            shapes.Infer(node);
            var (learned, normalization) = counter.Count(node);
            long macs = 0;
            if (MultiplyAddRules.For(node) is { } rule)
            {
                var cost = Price(node, rule, shapes, warnings);
                if (rule.IsPaperMultiplyAdd)
                {
                    macs = cost;
                }
                else
                {
                    otherOperations += cost;
                }
            }

            parameters += learned;
            batchNormParameters += normalization;
            multiplyAdds += macs;
            if (learned > 0 || normalization > 0 || macs > 0 || OperatorRoles.IsComputeLayer(node))
            {
                var label = node.Name.Length > 0 ? node.Name : $"{node.OpType}_{index}";
                var outputShape = node.Output.Count > 0 ? shapes.Shape(node.Output[0]) : null;
                layers.Add(new LayerStatistics(label, node.QualifiedOpType(), outputShape, learned + normalization, macs));
            }
        }

        return new ModelAnalysis(
            inputs, [.. graph.Output.Select(Signature)], parameters, batchNormParameters, multiplyAdds, layers, warnings.Messages)
        {
            OtherOperations = otherOperations,
        };
    }

    private static long Price(NodeProto node, IMultiplyAddRule rule, ShapeInference shapes, AnalysisWarnings warnings)
    {
        var weightIndex = OperatorRoles.WeightInput(node);
        var nodeShapes = new NodeShapes(
            shapes.InputShape(node, 0),
            weightIndex >= 0 ? shapes.InputShape(node, weightIndex) : null,
            node.Output.Count > 0 ? shapes.Shape(node.Output[0]) : null);
        try
        {
            return rule.Count(node, nodeShapes, warnings);
        }
        catch (IndexOutOfRangeException)
        {
            // Declared shapes of the wrong rank (a broken or hostile file): count nothing for this layer.
            warnings.Add($"{node.QualifiedOpType()} '{node.Name}': shapes of unexpected rank, its multiply-adds are not counted");
            return 0;
        }
    }

    private static TensorSignature Signature(ValueInfoProto value) => new(
        value.Name,
        value.Type?.TensorType is { } t ? OnnxDataTypes.Name(t.ElemType) : "non-tensor",
        value.Type?.TensorType?.Shape?.Dim.Select(DimensionText).ToArray());

    private static string DimensionText(TensorShapeProto.Types.Dimension d) => d.ValueCase switch
    {
        TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => d.DimParam,
        _ => "?",
    };
}
