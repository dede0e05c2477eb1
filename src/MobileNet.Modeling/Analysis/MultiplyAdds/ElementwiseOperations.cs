using Onnx;
using static MobileNet.Modeling.Analysis.ShapeFormulas;

namespace MobileNet.Modeling.Analysis.MultiplyAdds;

/// <summary>
/// Elementwise arithmetic and activations with a multiply or add in them: one operation per output element (a
/// squeeze-and-excitation scaling, a residual add, an h-swish or h-sigmoid). Plain comparisons (ReLU, Clip) cost
/// none. Not multiply-adds in the papers' sense: reported apart.
/// </summary>
internal sealed class ElementwiseOperations : IMultiplyAddRule
{
    public bool IsPaperMultiplyAdd => false;

    public bool Applies(NodeProto node) => node.OpType is "Add" or "Sub" or "Mul" or "Div" or "Sum" or "Mean"
        or "HardSwish" or "HardSigmoid" or "Sigmoid" or "Swish" or "QLinearAdd" or "QLinearMul" or "QLinearSigmoid";

    public long Count(NodeProto node, NodeShapes shapes, AnalysisWarnings warnings) =>
        shapes.Output is { } y ? Product(y) : 0;
}
