namespace MobileNet.Modeling.Analysis;

/// <summary>A graph input or output: name, element type ("float", "int8", ...) and dimensions as written in the
/// file (numbers, symbolic names such as "batch", or "?" when unknown); a null shape means the rank is unknown.</summary>
public sealed record TensorSignature(string Name, string ElementType, IReadOnlyList<string>? Shape);

/// <summary>
/// One layer of <see cref="ModelAnalysis.Layers"/>: a node that holds parameters or performs multiply-adds.
/// <see cref="Parameters"/> of a BatchNormalization row are its four per-channel tensors; they add up to
/// <see cref="ModelAnalysis.BatchNormParameters"/>, not to <see cref="ModelAnalysis.Parameters"/>.
/// <see cref="OutputShape"/> is null when shape inference could not follow the graph to this node.
/// </summary>
public sealed record LayerStatistics(
    string Name,
    string OpType,
    IReadOnlyList<long>? OutputShape,
    long Parameters,
    long MultiplyAdds);

/// <summary>
/// What <see cref="ModelAnalyzer"/> found, counted at batch size 1.
/// <list type="bullet">
/// <item><see cref="Parameters"/>: elements of learned tensors: weights and biases of convolution and matrix-multiply
/// layers (Conv, ConvTranspose, ConvInteger, QLinearConv, Gemm, MatMul, QLinearMatMul, MatMulInteger, com.microsoft
/// QGemm/Fused*), plus other initializers that hold weights (floating-point or 8-bit, at least two elements) feeding
/// data inputs of other operators (e.g. a bias Add, PRelu slopes, DequantizeLinear'd weights). Not counted:
/// quantization scales and zero points, shape/axes/pads and other integer index tensors, scalar constants
/// (such as ReLU6's bounds), and BatchNormalization tensors, which are reported apart.</item>
/// <item><see cref="BatchNormParameters"/>: BatchNormalization scale, bias, running mean and running variance
/// (four per channel). Kept apart because inference folds them into the preceding convolution, and the MobileNet
/// papers' parameter counts are of convolution and fully connected weights.</item>
/// <item><see cref="MultiplyAdds"/>: multiply-accumulate operations of convolution and matrix-multiply layers, as the
/// MobileNet paper counts them (a KxK convolution producing an HxWxN output from M channels in G groups costs
/// K*K*(M/G)*N*H*W); normalization, activations, pooling, additions and softmax are not counted.</item>
/// </list>
/// </summary>
public sealed record ModelAnalysis(
    IReadOnlyList<TensorSignature> Inputs,
    IReadOnlyList<TensorSignature> Outputs,
    long Parameters,
    long BatchNormParameters,
    long MultiplyAdds,
    IReadOnlyList<LayerStatistics> Layers,
    IReadOnlyList<string> Warnings)
{
    /// <summary>Elementwise and pooling operations per image, not part of <see cref="MultiplyAdds"/> (see above).</summary>
    public long OtherOperations { get; init; }

    /// <summary>True when every compute layer's shapes were inferred, so <see cref="MultiplyAdds"/> is complete.</summary>
    public bool IsComplete => Warnings.Count == 0;
}
