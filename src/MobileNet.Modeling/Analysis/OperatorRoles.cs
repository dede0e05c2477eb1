using Onnx;

namespace MobileNet.Modeling.Analysis;

/// <summary>What an operator's input is for, as parameter counting sees it.</summary>
internal enum InputRole
{
    Data,
    Weight,
    Bias,
    BatchNorm,
    NotParameter,
}

/// <summary>Which inputs of which operators hold weights, biases or batch-norm statistics, and which are the
/// weight (right-hand matrix) of a convolution or matrix multiply.</summary>
internal static class OperatorRoles
{
    /// <summary>True for convolution and matrix-multiply nodes: the layers the papers count.</summary>
    public static bool IsComputeLayer(NodeProto node) => WeightInput(node) >= 0;

    /// <summary>Index of the weight (or right-hand matrix) input of a convolution / matrix-multiply node, else -1.</summary>
    public static int WeightInput(NodeProto node) => node.OpType switch
    {
        "Conv" or "ConvTranspose" or "ConvInteger" or "FusedConv" or "NhwcConv" => 1,
        "QLinearConv" => 3,
        "Gemm" or "FusedGemm" or "MatMul" or "MatMulInteger" or "FusedMatMul" or "MatMulIntegerToFloat" => 1,
        "QGemm" or "QLinearMatMul" => 3,
        _ => -1,
    };

    public static InputRole Role(NodeProto node, int index)
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
}
