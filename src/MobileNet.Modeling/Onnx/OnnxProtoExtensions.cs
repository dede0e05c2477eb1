using System.Buffers.Binary;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace MobileNet.Modeling.Onnx;

/// <summary>Reading helpers over OnnxSharp's generated messages: attributes by name, optional inputs, tensor sizes
/// and small integer tensors (shapes, axes) as the analyzer needs them.</summary>
public static class OnnxProtoExtensions
{
    public static AttributeProto? Attribute(this NodeProto node, string name)
    {
        ArgumentNullException.ThrowIfNull(node);
        foreach (var attribute in node.Attribute)
        {
            if (attribute.Name == name)
            {
                return attribute;
            }
        }

        return null;
    }

    public static long GetInt(this NodeProto node, string name, long defaultValue) => node.Attribute(name) is { } a ? a.I : defaultValue;

    public static float GetFloat(this NodeProto node, string name, float defaultValue) => node.Attribute(name) is { } a ? a.F : defaultValue;

    public static string GetString(this NodeProto node, string name, string defaultValue) =>
        node.Attribute(name) is { } a ? a.S.ToStringUtf8() : defaultValue;

    public static long[]? GetInts(this NodeProto node, string name) => node.Attribute(name) is { } a ? [.. a.Ints] : null;

    /// <summary>Input <paramref name="index"/>, or null when absent or omitted ("").</summary>
    public static string? InputAt(this NodeProto node, int index)
    {
        ArgumentNullException.ThrowIfNull(node);
        return index < node.Input.Count && node.Input[index].Length > 0 ? node.Input[index] : null;
    }

    /// <summary>"Conv" for the default domain, "com.microsoft.QGemm" for others.</summary>
    public static string QualifiedOpType(this NodeProto node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return node.Domain is "" or "ai.onnx" ? node.OpType : $"{node.Domain}.{node.OpType}";
    }

    /// <summary>Number of elements the dims describe (1 for a scalar).</summary>
    /// <exception cref="OnnxFormatException">A dimension is negative or the product overflows.</exception>
    public static long ElementCount(this TensorProto tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        long count = 1;
        foreach (var d in tensor.Dims)
        {
            if (d < 0)
            {
                throw new OnnxFormatException($"tensor '{tensor.Name}' has a negative dimension ({d})");
            }

            try
            {
                count = checked(count * d);
            }
            catch (OverflowException ex)
            {
                throw new OnnxFormatException($"tensor '{tensor.Name}' has dimensions whose product overflows", ex);
            }
        }

        return count;
    }

    /// <summary>True when the tensor carries data, in raw_data or a typed field, or externally; a shape-only
    /// initializer (the builder's analysis-only models) has none.</summary>
    public static bool HasData(this TensorProto tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return tensor.DataLocation == TensorProto.Types.DataLocation.External || !tensor.RawData.IsEmpty
            || tensor.FloatData.Count > 0 || tensor.Int32Data.Count > 0 || tensor.Int64Data.Count > 0
            || tensor.DoubleData.Count > 0 || tensor.Uint64Data.Count > 0 || tensor.StringData.Count > 0
            || tensor.ElementCount() == 0;
    }

    /// <summary>
    /// The values as integers, for small int64/int32 (and friends) tensors that hold shapes and axes; null when the
    /// tensor is not an integer tensor, is external, has more than <paramref name="maxElements"/> elements, or its
    /// data does not match its dims.
    /// </summary>
    public static long[]? TryGetIntegers(this TensorProto tensor, int maxElements = 4096)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        long count;
        try
        {
            count = tensor.ElementCount();
        }
        catch (OnnxFormatException)
        {
            return null;
        }

        if (tensor.DataLocation == TensorProto.Types.DataLocation.External || count > maxElements)
        {
            return null;
        }

        var n = (int)count;
        var type = (DataType)tensor.DataType;
        if (!tensor.RawData.IsEmpty)
        {
            return IntegersFromRaw(tensor.RawData.Span, type, n);
        }

        return type switch
        {
            DataType.Int64 when tensor.Int64Data.Count == n => [.. tensor.Int64Data],
            DataType.Uint64 when tensor.Uint64Data.Count == n => [.. tensor.Uint64Data.Select(v => unchecked((long)v))],
            DataType.Int32 or DataType.Int16 or DataType.Int8 or DataType.Uint16 or DataType.Uint8 or DataType.Bool
                when tensor.Int32Data.Count == n => [.. tensor.Int32Data.Select(v => (long)v)],
            _ => n == 0 ? [] : null,
        };
    }

    private static long[]? IntegersFromRaw(ReadOnlySpan<byte> bytes, DataType type, int n)
    {
        var width = type switch
        {
            DataType.Int64 or DataType.Uint64 => 8,
            DataType.Int32 or DataType.Uint32 => 4,
            DataType.Int16 or DataType.Uint16 => 2,
            DataType.Int8 or DataType.Uint8 or DataType.Bool => 1,
            _ => 0,
        };
        if (width == 0 || bytes.Length != (long)n * width)
        {
            return null;
        }

        var result = new long[n];
        for (var i = 0; i < n; i++)
        {
            var s = bytes.Slice(i * width, width);
            result[i] = type switch
            {
                DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(s),
                DataType.Uint64 => unchecked((long)BinaryPrimitives.ReadUInt64LittleEndian(s)),
                DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(s),
                DataType.Uint32 => BinaryPrimitives.ReadUInt32LittleEndian(s),
                DataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(s),
                DataType.Uint16 => BinaryPrimitives.ReadUInt16LittleEndian(s),
                DataType.Int8 => (sbyte)s[0],
                _ => s[0],
            };
        }

        return result;
    }
}
