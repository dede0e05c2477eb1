using System.Buffers.Binary;

namespace MobileNet.Inference.Onnx;

/// <summary>
/// Decodes ONNX ModelProto bytes into an <see cref="OnnxModel"/>. Field numbers follow the ONNX IR specification;
/// fields this project does not model are skipped. Input is untrusted: see <see cref="ProtoReader"/> for the checks,
/// plus a nesting limit for subgraphs. Tensor raw_data is sliced from the input buffer, not copied.
/// </summary>
public static class OnnxModelReader
{
    /// <summary>Subgraphs (If/Loop bodies) nest; a cap keeps hostile nesting from exhausting the stack.</summary>
    public const int MaxGraphDepth = 32;

    /// <summary>Protocol-buffer messages cannot exceed 2 GiB; larger files are not single-file ONNX models.</summary>
    public const long MaxFileBytes = int.MaxValue;

    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="OnnxFormatException">The file is not a well-formed ONNX model.</exception>
    public static OnnxModel ReadFile(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"model file not found: {path}", path);
        }

        if (info.Length > MaxFileBytes)
        {
            throw new OnnxFormatException($"invalid ONNX file: {path} is {info.Length} bytes, over the 2 GiB protocol-buffer limit");
        }

        return Read(File.ReadAllBytes(path));
    }

    /// <exception cref="OnnxFormatException">The bytes are not a well-formed ONNX model.</exception>
    public static OnnxModel Read(ReadOnlyMemory<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            throw new OnnxFormatException("invalid ONNX file: it is empty");
        }

        var reader = new ProtoReader(bytes, "ModelProto");
        var model = new OnnxModel();
        var hasGraph = false;
        while (reader.TryReadTag(out var field, out var wire))
        {
            switch (field)
            {
                case 1:
                    reader.Expect(field, wire, ProtoWireType.Varint);
                    model.IrVersion = reader.ReadInt64();
                    break;
                case 2:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    model.ProducerName = reader.ReadString();
                    break;
                case 3:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    model.ProducerVersion = reader.ReadString();
                    break;
                case 4:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    model.Domain = reader.ReadString();
                    break;
                case 5:
                    reader.Expect(field, wire, ProtoWireType.Varint);
                    model.ModelVersion = reader.ReadInt64();
                    break;
                case 6:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    model.DocString = reader.ReadString();
                    break;
                case 7:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    var graphReader = reader.ReadMessage("GraphProto");
                    model.Graph = ReadGraph(ref graphReader, depth: 1);
                    hasGraph = true;
                    break;
                case 8:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    var opsetReader = reader.ReadMessage("OperatorSetIdProto");
                    model.OpsetImports.Add(ReadOpset(ref opsetReader));
                    break;
                case 14:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    var entryReader = reader.ReadMessage("StringStringEntryProto");
                    model.MetadataProps.Add(ReadStringPair(ref entryReader));
                    break;
                default:
                    reader.Skip(field, wire);
                    break;
            }
        }

        if (!hasGraph)
        {
            throw new OnnxFormatException("invalid ONNX file: it has no graph (is this an ONNX model?)");
        }

        if (model.IrVersion <= 0)
        {
            throw new OnnxFormatException($"invalid ONNX file: ir_version is {model.IrVersion} (missing or corrupt)");
        }

        return model;
    }

    private static OnnxGraph ReadGraph(ref ProtoReader reader, int depth)
    {
        if (depth > MaxGraphDepth)
        {
            throw reader.Error($"subgraphs nested deeper than {MaxGraphDepth} levels");
        }

        var graph = new OnnxGraph();
        while (reader.TryReadTag(out var field, out var wire))
        {
            switch (field)
            {
                case 1:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    var nodeReader = reader.ReadMessage("NodeProto");
                    graph.Nodes.Add(ReadNode(ref nodeReader, depth));
                    break;
                case 2:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    graph.Name = reader.ReadString();
                    break;
                case 5:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    var tensorReader = reader.ReadMessage("TensorProto");
                    graph.Initializers.Add(ReadTensor(ref tensorReader));
                    break;
                case 10:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    graph.DocString = reader.ReadString();
                    break;
                case 11 or 12 or 13:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    var valueReader = reader.ReadMessage("ValueInfoProto");
                    var value = ReadValueInfo(ref valueReader);
                    (field == 11 ? graph.Inputs : field == 12 ? graph.Outputs : graph.ValueInfo).Add(value);
                    break;
                default:
                    reader.Skip(field, wire);
                    break;
            }
        }

        return graph;
    }

    private static OnnxNode ReadNode(ref ProtoReader reader, int depth)
    {
        var node = new OnnxNode();
        while (reader.TryReadTag(out var field, out var wire))
        {
            switch (field)
            {
                case 1:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    node.Inputs.Add(reader.ReadString());
                    break;
                case 2:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    node.Outputs.Add(reader.ReadString());
                    break;
                case 3:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    node.Name = reader.ReadString();
                    break;
                case 4:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    node.OpType = reader.ReadString();
                    break;
                case 5:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    var attributeReader = reader.ReadMessage("AttributeProto");
                    node.Attributes.Add(ReadAttribute(ref attributeReader, depth));
                    break;
                case 6:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    node.DocString = reader.ReadString();
                    break;
                case 7:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    node.Domain = reader.ReadString();
                    break;
                default:
                    reader.Skip(field, wire);
                    break;
            }
        }

        return node;
    }

    private static OnnxAttribute ReadAttribute(ref ProtoReader reader, int depth)
    {
        var attribute = new OnnxAttribute();
        while (reader.TryReadTag(out var field, out var wire))
        {
            switch (field)
            {
                case 1:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    attribute.Name = reader.ReadString();
                    break;
                case 2:
                    reader.Expect(field, wire, ProtoWireType.Fixed32);
                    attribute.F = reader.ReadFloat();
                    break;
                case 3:
                    reader.Expect(field, wire, ProtoWireType.Varint);
                    attribute.I = reader.ReadInt64();
                    break;
                case 4:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    attribute.S = reader.ReadLengthDelimited(out _);
                    break;
                case 5:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    var tensorReader = reader.ReadMessage("TensorProto");
                    attribute.T = ReadTensor(ref tensorReader);
                    break;
                case 6:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    var graphReader = reader.ReadMessage("GraphProto");
                    attribute.G = ReadGraph(ref graphReader, depth + 1);
                    break;
                case 7:
                    ReadRepeatedFloat(ref reader, field, wire, attribute.Floats);
                    break;
                case 8:
                    ReadRepeatedVarint(ref reader, field, wire, attribute.Ints);
                    break;
                case 9:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    attribute.Strings.Add(reader.ReadLengthDelimited(out _));
                    break;
                case 10:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    var itemReader = reader.ReadMessage("TensorProto");
                    attribute.Tensors.Add(ReadTensor(ref itemReader));
                    break;
                case 11:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    var subgraphReader = reader.ReadMessage("GraphProto");
                    attribute.Graphs.Add(ReadGraph(ref subgraphReader, depth + 1));
                    break;
                case 13:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    attribute.DocString = reader.ReadString();
                    break;
                case 20:
                    reader.Expect(field, wire, ProtoWireType.Varint);
                    attribute.Type = (OnnxAttributeType)reader.ReadInt32();
                    break;
                default:
                    reader.Skip(field, wire);
                    break;
            }
        }

        return attribute;
    }

    private static OnnxTensor ReadTensor(ref ProtoReader reader)
    {
        var tensor = new OnnxTensor();
        var dims = new List<long>();
        List<float>? floats = null;
        List<long>? int32s = null;
        List<long>? int64s = null;
        List<double>? doubles = null;
        List<long>? uint64s = null;
        while (reader.TryReadTag(out var field, out var wire))
        {
            switch (field)
            {
                case 1:
                    ReadRepeatedVarint(ref reader, field, wire, dims);
                    break;
                case 2:
                    reader.Expect(field, wire, ProtoWireType.Varint);
                    tensor.DataType = (OnnxDataType)reader.ReadInt32();
                    break;
                case 4:
                    ReadRepeatedFloat(ref reader, field, wire, floats ??= []);
                    break;
                case 5:
                    ReadRepeatedVarint(ref reader, field, wire, int32s ??= []);
                    break;
                case 6:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    tensor.StringData.Add(reader.ReadLengthDelimited(out _));
                    break;
                case 7:
                    ReadRepeatedVarint(ref reader, field, wire, int64s ??= []);
                    break;
                case 8:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    tensor.Name = reader.ReadString();
                    break;
                case 9:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    tensor.RawData = reader.ReadLengthDelimited(out _);
                    tensor.HasRawData = true;
                    break;
                case 10:
                    ReadRepeatedDouble(ref reader, field, wire, doubles ??= []);
                    break;
                case 11:
                    ReadRepeatedVarint(ref reader, field, wire, uint64s ??= []);
                    break;
                case 12:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    tensor.DocString = reader.ReadString();
                    break;
                case 13:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    var entryReader = reader.ReadMessage("StringStringEntryProto");
                    tensor.ExternalData.Add(ReadStringPair(ref entryReader));
                    break;
                case 14:
                    reader.Expect(field, wire, ProtoWireType.Varint);
                    tensor.IsExternal = reader.ReadInt32() == 1;
                    break;
                default:
                    reader.Skip(field, wire);
                    break;
            }
        }

        tensor.Dims = [.. dims];
        tensor.FloatData = floats is null ? [] : [.. floats];
        tensor.Int32Data = int32s is null ? [] : [.. int32s.Select(v => unchecked((int)v))];
        tensor.Int64Data = int64s is null ? [] : [.. int64s];
        tensor.DoubleData = doubles is null ? [] : [.. doubles];
        tensor.UInt64Data = uint64s is null ? [] : [.. uint64s.Select(v => unchecked((ulong)v))];
        return tensor;
    }

    private static OnnxValueInfo ReadValueInfo(ref ProtoReader reader)
    {
        var value = new OnnxValueInfo();
        while (reader.TryReadTag(out var field, out var wire))
        {
            switch (field)
            {
                case 1:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    value.Name = reader.ReadString();
                    break;
                case 2:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    var typeReader = reader.ReadMessage("TypeProto");
                    value.TensorType = ReadType(ref typeReader);
                    break;
                case 3:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    value.DocString = reader.ReadString();
                    break;
                default:
                    reader.Skip(field, wire);
                    break;
            }
        }

        return value;
    }

    /// <summary>TypeProto: only the tensor_type member (field 1) is modelled; sequences and maps read as null.</summary>
    private static OnnxTensorType? ReadType(ref ProtoReader reader)
    {
        OnnxTensorType? result = null;
        while (reader.TryReadTag(out var field, out var wire))
        {
            if (field == 1)
            {
                reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                var tensorReader = reader.ReadMessage("TypeProto.Tensor");
                result = ReadTensorType(ref tensorReader);
            }
            else
            {
                reader.Skip(field, wire);
            }
        }

        return result;
    }

    private static OnnxTensorType ReadTensorType(ref ProtoReader reader)
    {
        var elementType = OnnxDataType.Undefined;
        List<OnnxDimension>? shape = null;
        while (reader.TryReadTag(out var field, out var wire))
        {
            switch (field)
            {
                case 1:
                    reader.Expect(field, wire, ProtoWireType.Varint);
                    elementType = (OnnxDataType)reader.ReadInt32();
                    break;
                case 2:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    var shapeReader = reader.ReadMessage("TensorShapeProto");
                    shape = ReadShape(ref shapeReader);
                    break;
                default:
                    reader.Skip(field, wire);
                    break;
            }
        }

        return new OnnxTensorType(elementType, shape);
    }

    private static List<OnnxDimension> ReadShape(ref ProtoReader reader)
    {
        var dims = new List<OnnxDimension>();
        while (reader.TryReadTag(out var field, out var wire))
        {
            if (field != 1)
            {
                reader.Skip(field, wire);
                continue;
            }

            reader.Expect(field, wire, ProtoWireType.LengthDelimited);
            var dimReader = reader.ReadMessage("TensorShapeProto.Dimension");
            long? dimValue = null;
            string? dimParam = null;
            while (dimReader.TryReadTag(out var dimField, out var dimWire))
            {
                switch (dimField)
                {
                    case 1:
                        dimReader.Expect(dimField, dimWire, ProtoWireType.Varint);
                        dimValue = dimReader.ReadInt64();
                        dimParam = null;
                        break;
                    case 2:
                        dimReader.Expect(dimField, dimWire, ProtoWireType.LengthDelimited);
                        dimParam = dimReader.ReadString();
                        dimValue = null;
                        break;
                    default:
                        dimReader.Skip(dimField, dimWire);
                        break;
                }
            }

            dims.Add(new OnnxDimension(dimValue, dimParam));
        }

        return dims;
    }

    private static OnnxOperatorSet ReadOpset(ref ProtoReader reader)
    {
        var domain = "";
        long version = 0;
        while (reader.TryReadTag(out var field, out var wire))
        {
            switch (field)
            {
                case 1:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    domain = reader.ReadString();
                    break;
                case 2:
                    reader.Expect(field, wire, ProtoWireType.Varint);
                    version = reader.ReadInt64();
                    break;
                default:
                    reader.Skip(field, wire);
                    break;
            }
        }

        return new OnnxOperatorSet(domain, version);
    }

    private static KeyValuePair<string, string> ReadStringPair(ref ProtoReader reader)
    {
        var key = "";
        var value = "";
        while (reader.TryReadTag(out var field, out var wire))
        {
            switch (field)
            {
                case 1:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    key = reader.ReadString();
                    break;
                case 2:
                    reader.Expect(field, wire, ProtoWireType.LengthDelimited);
                    value = reader.ReadString();
                    break;
                default:
                    reader.Skip(field, wire);
                    break;
            }
        }

        return new KeyValuePair<string, string>(key, value);
    }

    /// <summary>Repeated varint fields arrive packed (one length-delimited run) or one value per tag; both are legal.</summary>
    private static void ReadRepeatedVarint(ref ProtoReader reader, int field, ProtoWireType wire, List<long> into)
    {
        if (wire == ProtoWireType.Varint)
        {
            into.Add(reader.ReadInt64());
            return;
        }

        reader.Expect(field, wire, ProtoWireType.LengthDelimited);
        var packed = reader.ReadMessage(reader.Message + " (packed field)");
        while (!packed.AtEnd)
        {
            into.Add(packed.ReadInt64());
        }
    }

    private static void ReadRepeatedFloat(ref ProtoReader reader, int field, ProtoWireType wire, List<float> into)
    {
        if (wire == ProtoWireType.Fixed32)
        {
            into.Add(reader.ReadFloat());
            return;
        }

        reader.Expect(field, wire, ProtoWireType.LengthDelimited);
        var bytes = reader.ReadLengthDelimited(out _);
        if (bytes.Length % 4 != 0)
        {
            throw reader.Error($"packed float field {field} has {bytes.Length} bytes, not a multiple of 4");
        }

        var span = bytes.Span;
        into.Capacity = Math.Max(into.Capacity, into.Count + (span.Length / 4));
        for (var i = 0; i < span.Length; i += 4)
        {
            into.Add(BinaryPrimitives.ReadSingleLittleEndian(span[i..]));
        }
    }

    private static void ReadRepeatedDouble(ref ProtoReader reader, int field, ProtoWireType wire, List<double> into)
    {
        if (wire == ProtoWireType.Fixed64)
        {
            into.Add(reader.ReadDouble());
            return;
        }

        reader.Expect(field, wire, ProtoWireType.LengthDelimited);
        var bytes = reader.ReadLengthDelimited(out _);
        if (bytes.Length % 8 != 0)
        {
            throw reader.Error($"packed double field {field} has {bytes.Length} bytes, not a multiple of 8");
        }

        var span = bytes.Span;
        for (var i = 0; i < span.Length; i += 8)
        {
            into.Add(BinaryPrimitives.ReadDoubleLittleEndian(span[i..]));
        }
    }
}
