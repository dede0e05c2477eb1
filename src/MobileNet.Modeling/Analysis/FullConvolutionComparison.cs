using MobileNet.Modeling.Onnx;
using Onnx;
using static MobileNet.Modeling.Analysis.ShapeFormulas;

namespace MobileNet.Modeling.Analysis;

/// <summary>
/// One depthwise-separable block: a KxK depthwise convolution over M channels and the 1x1 pointwise convolution to N
/// channels that follows it (through batch norm, activations or a squeeze-and-excitation scaling), against one
/// standard KxK convolution from M to N channels at the same output size. The MobileNet paper's section 3.1:
/// separable / full = (K^2*M*H*W + M*N*H*W) / (K^2*M*N*H*W) = 1/N + 1/K^2.
/// </summary>
public sealed record SeparableBlockCost(
    string Depthwise,
    string Pointwise,
    long InputChannels,
    long OutputChannels,
    long Kernel,
    IReadOnlyList<long> OutputSize,
    long SeparableMultiplyAdds,
    long FullConvolutionMultiplyAdds)
{
    /// <summary>Measured separable / full cost, from the two layers' multiply-adds.</summary>
    public double Ratio => (double)SeparableMultiplyAdds / FullConvolutionMultiplyAdds;

    /// <summary>The paper's 1/N + 1/D_K^2.</summary>
    public double Formula => (1.0 / OutputChannels) + (1.0 / (Kernel * Kernel));

    /// <summary>How many times cheaper the separable block is.</summary>
    public double TimesCheaper => (double)FullConvolutionMultiplyAdds / SeparableMultiplyAdds;
}

/// <summary>Every depthwise-separable block of a model, with the totals over them.</summary>
public sealed record FullConvolutionComparison(IReadOnlyList<SeparableBlockCost> Blocks)
{
    public long SeparableMultiplyAdds => Blocks.Sum(b => b.SeparableMultiplyAdds);

    public long FullConvolutionMultiplyAdds => Blocks.Sum(b => b.FullConvolutionMultiplyAdds);

    /// <summary>Full / separable over all blocks (0 when the model has none).</summary>
    public double TimesCheaper => SeparableMultiplyAdds == 0 ? 0 : (double)FullConvolutionMultiplyAdds / SeparableMultiplyAdds;

    /// <summary>
    /// Finds each depthwise convolution (group = channels, one input channel per filter) and the 1x1 group-1
    /// convolution its output reaches through shape-preserving nodes, and prices both against a full convolution.
    /// </summary>
    public static FullConvolutionComparison Of(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = model.Graph ?? new GraphProto();
        var shapes = new ShapeInference(graph, new AnalysisWarnings());
        var consumers = new Dictionary<string, List<NodeProto>>();
        foreach (var node in graph.Node)
        {
            shapes.Infer(node);
            foreach (var input in node.Input.Where(i => i.Length > 0).Distinct())
            {
                if (!consumers.TryGetValue(input, out var list))
                {
                    consumers[input] = list = [];
                }

                list.Add(node);
            }
        }

        var blocks = new List<SeparableBlockCost>();
        foreach (var node in graph.Node)
        {
            if (Depthwise(node, shapes) is not { } depthwise)
            {
                continue;
            }

            var (weight, output) = depthwise;
            if (FollowToPointwise(node.Output[0], output, weight[0], consumers, shapes) is not { } pointwise)
            {
                continue;
            }

            var pointwiseWeight = shapes.InputShape(pointwise, OperatorRoles.WeightInput(pointwise))!;
            var pointwiseOutput = shapes.Shape(pointwise.Output[0])!;
            var kernel = weight[2];
            var m = weight[0];
            var n = pointwiseWeight[0];
            var spatial = SpatialProduct(output, nhwc: false);
            var separable = checked((Product(weight) * spatial) + (Product(pointwiseWeight) * SpatialProduct(pointwiseOutput, nhwc: false)));
            var full = checked(kernel * weight[3] * m * n * spatial);
            blocks.Add(new SeparableBlockCost(Label(node), Label(pointwise), m, n, kernel, output[2..], separable, full));
        }

        return new FullConvolutionComparison(blocks);
    }

    private static string Label(NodeProto node) => node.Name.Length > 0 ? node.Name : node.Output.FirstOrDefault() ?? node.OpType;

    /// <summary>Float or quantized (QLinearConv) 2-D convolutions, NCHW.</summary>
    private static bool IsConvolution(NodeProto node) => node.OpType is "Conv" or "QLinearConv";

    /// <summary>A 2-D depthwise convolution: weight [C, 1, K, K] with group C > 1, shapes known.</summary>
    private static (long[] Weight, long[] Output)? Depthwise(NodeProto node, ShapeInference shapes)
    {
        if (!IsConvolution(node) || node.Output.Count == 0)
        {
            return null;
        }

        var group = node.GetInt("group", 1);
        var weight = shapes.InputShape(node, OperatorRoles.WeightInput(node));
        var output = shapes.Shape(node.Output[0]);
        return group > 1 && weight is { Length: 4 } && weight[0] == group && weight[1] == 1 && output is { Length: 4 }
            ? (weight, output)
            : null;
    }

    /// <summary>Follows the depthwise output through nodes that keep its shape (BN, activations, SE's Mul) to the
    /// first 1x1, group-1 Conv that reads it; null when another kind of layer comes first.</summary>
    private static NodeProto? FollowToPointwise(
        string value, long[] shape, long channels, Dictionary<string, List<NodeProto>> consumers, ShapeInference shapes)
    {
        for (var step = 0; step < 16 && consumers.TryGetValue(value, out var readers); step++)
        {
            var pointwise = readers.FirstOrDefault(r => IsConvolution(r) && r.InputAt(0) == value && r.GetInt("group", 1) == 1
                && shapes.InputShape(r, OperatorRoles.WeightInput(r)) is [_, var inChannels, 1, 1] && inChannels == channels);
            if (pointwise is not null)
            {
                return pointwise;
            }

            var next = readers.FirstOrDefault(r => !OperatorRoles.IsComputeLayer(r) && r.Output.Count > 0
                && shapes.Shape(r.Output[0]) is { } s && s.SequenceEqual(shape));
            if (next is null)
            {
                return null;
            }

            value = next.Output[0];
        }

        return null;
    }
}
