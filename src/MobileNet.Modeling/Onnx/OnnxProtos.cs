using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace MobileNet.Modeling.Onnx;

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
