using DataType = Onnx.TensorProto.Types.DataType;

namespace MobileNet.Modeling.Onnx;

/// <summary>Names and roles of ONNX element types (TensorProto.DataType numbers, as OnnxSharp's enum has them).</summary>
public static class OnnxDataTypes
{
    /// <summary>Lower-case name as ONNX tools print it ("float", "int8", ...); unknown numbers print as "type(N)".</summary>
    public static string Name(int type) => (DataType)type switch
    {
        DataType.Float => "float",
        DataType.Uint8 => "uint8",
        DataType.Int8 => "int8",
        DataType.Uint16 => "uint16",
        DataType.Int16 => "int16",
        DataType.Int32 => "int32",
        DataType.Int64 => "int64",
        DataType.String => "string",
        DataType.Bool => "bool",
        DataType.Float16 => "float16",
        DataType.Double => "double",
        DataType.Uint32 => "uint32",
        DataType.Uint64 => "uint64",
        DataType.Complex64 => "complex64",
        DataType.Complex128 => "complex128",
        DataType.Bfloat16 => "bfloat16",
        DataType.Uint4 => "uint4",
        DataType.Int4 => "int4",
        DataType.Undefined => "undefined",
        var other => Enum.IsDefined(other) ? other.ToString().ToLowerInvariant() : $"type({type})",
    };

    /// <summary>Floating-point and 8-bit (or narrower) integer types: the element types learned weights are stored in.</summary>
    public static bool CanHoldWeights(int type) => (DataType)type is DataType.Float or DataType.Float16
        or DataType.Bfloat16 or DataType.Double or DataType.Int8 or DataType.Uint8 or DataType.Int4 or DataType.Uint4
        or DataType.Float8E4M3Fn or DataType.Float8E4M3Fnuz or DataType.Float8E5M2 or DataType.Float8E5M2Fnuz;
}
