using MobileNet.Modeling.Onnx;
using Onnx;
using static MobileNet.Modeling.Analysis.ShapeFormulas;

namespace MobileNet.Modeling.Analysis.MultiplyAdds;

/// <summary>
/// Conv, ConvTranspose and their quantized/fused forms: a KxK convolution producing an HxWxN output from M channels
/// in G groups costs K*K*(M/G)*N*H*W, which is the output's spatial size times the weight tensor's element count.
/// </summary>
internal sealed class ConvolutionMultiplyAdds : IMultiplyAddRule
{
    public bool IsPaperMultiplyAdd => true;

    public bool Applies(NodeProto node) =>
        node.OpType is "Conv" or "ConvInteger" or "QLinearConv" or "FusedConv" or "NhwcConv" or "ConvTranspose";

    public long Count(NodeProto node, NodeShapes shapes, AnalysisWarnings warnings)
    {
        if (shapes is not { Input: { } x, Weight: { } w, Output: { } y })
        {
            warnings.Add($"{node.QualifiedOpType()} '{node.Name}': input or output shape unknown, its multiply-adds are not counted");
            return 0;
        }

        // A transposed convolution scatters each input element through the whole kernel instead.
        return node.OpType == "ConvTranspose"
            ? checked(x[0] * SpatialProduct(x, nhwc: false) * Product(w))
            : checked(y[0] * SpatialProduct(y, node.OpType == "NhwcConv") * Product(w));
    }
}
