using MobileNet.Modeling.Onnx;
using Onnx;
using static MobileNet.Modeling.Analysis.ShapeFormulas;

namespace MobileNet.Modeling.Analysis.MultiplyAdds;

/// <summary>Gemm and its fused/quantized forms: an MxK by KxN product costs M*K*N (transA/transB respected).</summary>
internal sealed class GemmMultiplyAdds : IMultiplyAddRule
{
    public bool IsPaperMultiplyAdd => true;

    public bool Applies(NodeProto node) => node.OpType is "Gemm" or "FusedGemm" or "QGemm";

    public long Count(NodeProto node, NodeShapes shapes, AnalysisWarnings warnings)
    {
        if (shapes is not { Input: { } x, Weight: { } w, Output: not null })
        {
            warnings.Add($"{node.QualifiedOpType()} '{node.Name}': input or output shape unknown, its multiply-adds are not counted");
            return 0;
        }

        if (x.Length != 2 || w.Length != 2)
        {
            warnings.Add($"{node.QualifiedOpType()} '{node.Name}': expected 2-D inputs");
            return 0;
        }

        var transA = node.GetInt("transA", 0) != 0;
        var transB = node.GetInt("transB", 0) != 0;
        var m = transA ? x[1] : x[0];
        var k = transA ? x[0] : x[1];
        var n = transB ? w[0] : w[1];
        if ((transB ? w[1] : w[0]) != k)
        {
            warnings.Add($"{node.QualifiedOpType()} '{node.Name}': inner dimensions differ ({k} and {(transB ? w[1] : w[0])})");
        }

        return checked(m * k * n);
    }
}

/// <summary>MatMul and its integer/quantized/fused forms, numpy semantics: the output's element count times K.</summary>
internal sealed class MatMulMultiplyAdds : IMultiplyAddRule
{
    public bool IsPaperMultiplyAdd => true;

    public bool Applies(NodeProto node) =>
        node.OpType is "MatMul" or "MatMulInteger" or "QLinearMatMul" or "FusedMatMul" or "MatMulIntegerToFloat";

    public long Count(NodeProto node, NodeShapes shapes, AnalysisWarnings warnings)
    {
        if (shapes is not { Input: { } x, Weight: not null, Output: { } y })
        {
            warnings.Add($"{node.QualifiedOpType()} '{node.Name}': input or output shape unknown, its multiply-adds are not counted");
            return 0;
        }

        var k = x.Length == 0 ? 1 : x[^1];
        return checked(Product(y) * k);
    }
}
