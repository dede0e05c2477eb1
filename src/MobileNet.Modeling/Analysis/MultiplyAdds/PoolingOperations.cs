using MobileNet.Modeling.Onnx;
using Onnx;
using static MobileNet.Modeling.Analysis.ShapeFormulas;

namespace MobileNet.Modeling.Analysis.MultiplyAdds;

/// <summary>
/// Pooling: each output element reads its whole window (one accumulate per input element of a global pool,
/// prod(kernel) per output of a windowed one). Not multiply-adds in the papers' sense: reported apart.
/// </summary>
internal sealed class PoolingOperations : IMultiplyAddRule
{
    public bool IsPaperMultiplyAdd => false;

    public bool Applies(NodeProto node) => node.OpType is "GlobalAveragePool" or "GlobalMaxPool" or "AveragePool"
        or "MaxPool" or "LpPool" or "QLinearGlobalAveragePool" or "QLinearAveragePool";

    public long Count(NodeProto node, NodeShapes shapes, AnalysisWarnings warnings)
    {
        if (shapes is not { Input: { } x, Output: { } y })
        {
            return 0;
        }

        return node.OpType.Contains("Global", StringComparison.Ordinal)
            ? Product(x)
            : checked(Product(y) * Product(node.GetInts("kernel_shape") ?? []));
    }
}
