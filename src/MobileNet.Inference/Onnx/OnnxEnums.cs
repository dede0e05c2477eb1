namespace MobileNet.Inference.Onnx;

/// <summary>TensorProto.DataType: element types as numbered by the ONNX specification.</summary>
public enum OnnxDataType
{
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    UInt32 = 12,
    UInt64 = 13,
    Complex64 = 14,
    Complex128 = 15,
    BFloat16 = 16,
    Float8E4M3FN = 17,
    Float8E4M3FNUZ = 18,
    Float8E5M2 = 19,
    Float8E5M2FNUZ = 20,
    UInt4 = 21,
    Int4 = 22,
    Float4E2M1 = 23,
}

/// <summary>AttributeProto.AttributeType: which value field of an attribute is in use.</summary>
public enum OnnxAttributeType
{
    Undefined = 0,
    Float = 1,
    Int = 2,
    String = 3,
    Tensor = 4,
    Graph = 5,
    Floats = 6,
    Ints = 7,
    Strings = 8,
    Tensors = 9,
    Graphs = 10,
    SparseTensor = 11,
    SparseTensors = 12,
    TypeProto = 13,
    TypeProtos = 14,
}

/// <summary>Sizes and names of <see cref="OnnxDataType"/> values.</summary>
public static class OnnxDataTypes
{
    /// <summary>Bits one element occupies in raw_data, or 0 where the type has no fixed-size encoding (strings).</summary>
    public static int BitsPerElement(OnnxDataType type) => type switch
    {
        OnnxDataType.Float or OnnxDataType.Int32 or OnnxDataType.UInt32 => 32,
        OnnxDataType.UInt8 or OnnxDataType.Int8 or OnnxDataType.Bool => 8,
        OnnxDataType.Float8E4M3FN or OnnxDataType.Float8E4M3FNUZ or OnnxDataType.Float8E5M2 or OnnxDataType.Float8E5M2FNUZ => 8,
        OnnxDataType.UInt16 or OnnxDataType.Int16 or OnnxDataType.Float16 or OnnxDataType.BFloat16 => 16,
        OnnxDataType.Int64 or OnnxDataType.UInt64 or OnnxDataType.Double or OnnxDataType.Complex64 => 64,
        OnnxDataType.Complex128 => 128,
        OnnxDataType.UInt4 or OnnxDataType.Int4 or OnnxDataType.Float4E2M1 => 4,
        _ => 0,
    };

    /// <summary>Lower-case name as ONNX tools print it ("float", "int8", ...); unknown numbers print as "type(N)".</summary>
    public static string Name(OnnxDataType type) => type switch
    {
        OnnxDataType.Float => "float",
        OnnxDataType.UInt8 => "uint8",
        OnnxDataType.Int8 => "int8",
        OnnxDataType.UInt16 => "uint16",
        OnnxDataType.Int16 => "int16",
        OnnxDataType.Int32 => "int32",
        OnnxDataType.Int64 => "int64",
        OnnxDataType.String => "string",
        OnnxDataType.Bool => "bool",
        OnnxDataType.Float16 => "float16",
        OnnxDataType.Double => "double",
        OnnxDataType.UInt32 => "uint32",
        OnnxDataType.UInt64 => "uint64",
        OnnxDataType.Complex64 => "complex64",
        OnnxDataType.Complex128 => "complex128",
        OnnxDataType.BFloat16 => "bfloat16",
        OnnxDataType.UInt4 => "uint4",
        OnnxDataType.Int4 => "int4",
        OnnxDataType.Undefined => "undefined",
        _ => Enum.IsDefined(type) ? type.ToString().ToLowerInvariant() : $"type({(int)type})",
    };

    /// <summary>Floating-point and 8-bit (or narrower) integer types: the element types learned weights are stored in.</summary>
    public static bool CanHoldWeights(OnnxDataType type) => type is OnnxDataType.Float or OnnxDataType.Float16
        or OnnxDataType.BFloat16 or OnnxDataType.Double or OnnxDataType.Int8 or OnnxDataType.UInt8
        or OnnxDataType.Int4 or OnnxDataType.UInt4
        or OnnxDataType.Float8E4M3FN or OnnxDataType.Float8E4M3FNUZ or OnnxDataType.Float8E5M2 or OnnxDataType.Float8E5M2FNUZ;
}
