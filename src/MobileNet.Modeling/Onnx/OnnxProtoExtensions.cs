using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf;
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

/// <summary>Builds the generated messages the builder and tests write: tensors, attributes, value infos.</summary>
public static class OnnxProtos
{
    /// <summary>A float tensor in raw_data (little-endian, as the ONNX specification stores raw data).</summary>
    public static TensorProto FloatTensor(string name, long[] dims, ReadOnlySpan<float> values)
    {
        var raw = new byte[checked(values.Length * sizeof(float))];
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(values).CopyTo(raw);
        }
        else
        {
            for (var i = 0; i < values.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * sizeof(float)), values[i]);
            }
        }

        return RawTensor(name, DataType.Float, dims, raw);
    }

    public static TensorProto Int64Tensor(string name, long[] dims, ReadOnlySpan<long> values)
    {
        var raw = new byte[checked(values.Length * sizeof(long))];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * sizeof(long)), values[i]);
        }

        return RawTensor(name, DataType.Int64, dims, raw);
    }

    /// <summary>A tensor with dims and type only: enough for analysis, not for saving.</summary>
    public static TensorProto ShapeOnlyTensor(string name, DataType type, long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type };
        tensor.Dims.AddRange(dims);
        return tensor;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    /// <summary>A node named <paramref name="name"/> whose (first) output is <paramref name="outputs"/> or its name.</summary>
    public static NodeProto Node(string opType, string name, IEnumerable<string> inputs, params string[] outputs)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs.Length > 0 ? outputs : [name]);
        return node;
    }

    /// <summary>A tensor-typed value: each dimension a fixed size (long) or a symbolic name (string).</summary>
    public static ValueInfoProto TensorValue(string name, DataType elementType, params object[] shape)
    {
        var tensorType = new TypeProto.Types.Tensor { ElemType = (int)elementType, Shape = new TensorShapeProto() };
        foreach (var d in shape)
        {
            tensorType.Shape.Dim.Add(d switch
            {
                string param => new TensorShapeProto.Types.Dimension { DimParam = param },
                _ => new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture) },
            });
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensorType } };
    }

    private static TensorProto RawTensor(string name, DataType type, long[] dims, byte[] raw)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = UnsafeByteOperations.UnsafeWrap(raw) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }
}
