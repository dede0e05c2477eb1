using Onnx;

namespace MobileNet.Modeling.Analysis.MultiplyAdds;

/// <summary>The rule for each operator family, first match wins; operators no rule covers cost nothing.</summary>
internal static class MultiplyAddRules
{
    private static readonly IMultiplyAddRule[] Rules =
    [
        new ConvolutionMultiplyAdds(),
        new GemmMultiplyAdds(),
        new MatMulMultiplyAdds(),
        new PoolingOperations(),
        new ElementwiseOperations(),
    ];

    public static IMultiplyAddRule? For(NodeProto node) => Array.Find(Rules, r => r.Applies(node));
}
