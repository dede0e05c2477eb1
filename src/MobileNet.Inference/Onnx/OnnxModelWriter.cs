using MobileNet.Inference.Files;

namespace MobileNet.Inference.Onnx;

/// <summary>
/// Encodes an <see cref="OnnxModel"/> as ONNX ModelProto bytes, using the same field numbers
/// <see cref="OnnxModelReader"/> reads. Tensor data is written as raw_data when present, else the typed fields.
/// </summary>
public static class OnnxModelWriter
{
    /// <exception cref="InvalidOperationException">A tensor has no data, or the model exceeds the 2 GiB limit.</exception>
    public static void Write(OnnxModel model, Stream stream)
    {
        var writer = Encode(model);
        writer.WriteTo(stream);
    }

    public static byte[] ToBytes(OnnxModel model) => Encode(model).ToArray();

    /// <summary>Writes to a temporary file beside <paramref name="path"/> and renames it, so readers never see half a model.</summary>
    public static void WriteFile(OnnxModel model, string path)
    {
        var writer = Encode(model);
        AtomicFile.Write(path, writer.WriteTo);
    }

    private static ProtoWriter Encode(OnnxModel model)
    {
        var w = new ProtoWriter();
        w.WriteInt64(1, model.IrVersion);
        w.WriteStringIfSet(2, model.ProducerName);
        w.WriteStringIfSet(3, model.ProducerVersion);
        w.WriteStringIfSet(4, model.Domain);
        if (model.ModelVersion != 0)
        {
            w.WriteInt64(5, model.ModelVersion);
        }

        w.WriteStringIfSet(6, model.DocString);
        w.WriteMessage(7, g => WriteGraph(g, model.Graph));
        foreach (var opset in model.OpsetImports)
        {
            w.WriteMessage(8, o =>
            {
                o.WriteString(1, opset.Domain);
                o.WriteInt64(2, opset.Version);
            });
        }

        foreach (var entry in model.MetadataProps)
        {
            w.WriteMessage(14, e => WriteStringPair(e, entry));
        }

        if (w.Length > int.MaxValue)
        {
            throw new InvalidOperationException(
                $"the model encodes to {w.Length} bytes, over the 2 GiB limit of a single-file ONNX model");
        }

        return w;
    }

    private static void WriteGraph(ProtoWriter w, OnnxGraph graph)
    {
        foreach (var node in graph.Nodes)
        {
            w.WriteMessage(1, n => WriteNode(n, node));
        }

        w.WriteStringIfSet(2, graph.Name);
        foreach (var tensor in graph.Initializers)
        {
            w.WriteMessage(5, t => WriteTensor(t, tensor));
        }

        w.WriteStringIfSet(10, graph.DocString);
        foreach (var input in graph.Inputs)
        {
            w.WriteMessage(11, v => WriteValueInfo(v, input));
        }

        foreach (var output in graph.Outputs)
        {
            w.WriteMessage(12, v => WriteValueInfo(v, output));
        }

        foreach (var value in graph.ValueInfo)
        {
            w.WriteMessage(13, v => WriteValueInfo(v, value));
        }
    }

    private static void WriteNode(ProtoWriter w, OnnxNode node)
    {
        foreach (var input in node.Inputs)
        {
            w.WriteString(1, input);
        }

        foreach (var output in node.Outputs)
        {
            w.WriteString(2, output);
        }

        w.WriteStringIfSet(3, node.Name);
        w.WriteString(4, node.OpType);
        foreach (var attribute in node.Attributes)
        {
            w.WriteMessage(5, a => WriteAttribute(a, attribute));
        }

        w.WriteStringIfSet(6, node.DocString);
        w.WriteStringIfSet(7, node.Domain);
    }

    private static void WriteAttribute(ProtoWriter w, OnnxAttribute attribute)
    {
        w.WriteString(1, attribute.Name);
        // Attributes are proto2 "optional": the field named by the type is written even when it holds zero.
        switch (attribute.Type)
        {
            case OnnxAttributeType.Float:
                w.WriteFloat(2, attribute.F);
                break;
            case OnnxAttributeType.Int:
                w.WriteInt64(3, attribute.I);
                break;
            case OnnxAttributeType.String:
                w.WriteBytes(4, attribute.S);
                break;
            case OnnxAttributeType.Tensor when attribute.T is not null:
                w.WriteMessage(5, t => WriteTensor(t, attribute.T));
                break;
            case OnnxAttributeType.Graph when attribute.G is not null:
                w.WriteMessage(6, g => WriteGraph(g, attribute.G));
                break;
            default:
                break;
        }

        foreach (var f in attribute.Floats)
        {
            w.WriteFloat(7, f);
        }

        foreach (var i in attribute.Ints)
        {
            w.WriteInt64(8, i);
        }

        foreach (var s in attribute.Strings)
        {
            w.WriteBytes(9, s);
        }

        foreach (var tensor in attribute.Tensors)
        {
            w.WriteMessage(10, t => WriteTensor(t, tensor));
        }

        foreach (var graph in attribute.Graphs)
        {
            w.WriteMessage(11, g => WriteGraph(g, graph));
        }

        w.WriteStringIfSet(13, attribute.DocString);
        w.WriteInt32(20, (int)attribute.Type);
    }

    private static void WriteTensor(ProtoWriter w, OnnxTensor tensor)
    {
        if (!tensor.HasData)
        {
            throw new InvalidOperationException($"tensor '{tensor.Name}' has no data to write (a shape-only graph cannot be saved)");
        }

        w.WritePackedInt64(1, tensor.Dims);
        w.WriteInt32(2, (int)tensor.DataType);
        w.WritePackedFloat(4, tensor.FloatData);
        w.WritePackedInt64(5, [.. tensor.Int32Data.Select(v => (long)v)]);
        foreach (var s in tensor.StringData)
        {
            w.WriteBytes(6, s);
        }

        w.WritePackedInt64(7, tensor.Int64Data);
        w.WriteStringIfSet(8, tensor.Name);
        if (tensor.HasRawData)
        {
            w.WriteBytes(9, tensor.RawData);
        }

        w.WritePackedDouble(10, tensor.DoubleData);
        w.WritePackedInt64(11, [.. tensor.UInt64Data.Select(v => unchecked((long)v))]);
        w.WriteStringIfSet(12, tensor.DocString);
        foreach (var entry in tensor.ExternalData)
        {
            w.WriteMessage(13, e => WriteStringPair(e, entry));
        }

        if (tensor.IsExternal)
        {
            w.WriteInt32(14, 1);
        }
    }

    private static void WriteValueInfo(ProtoWriter w, OnnxValueInfo value)
    {
        w.WriteString(1, value.Name);
        if (value.TensorType is { } type)
        {
            w.WriteMessage(2, t => t.WriteMessage(1, tt =>
            {
                tt.WriteInt32(1, (int)type.ElementType);
                if (type.Shape is { } shape)
                {
                    tt.WriteMessage(2, s =>
                    {
                        foreach (var dim in shape)
                        {
                            s.WriteMessage(1, d =>
                            {
                                if (dim.Value is { } v)
                                {
                                    d.WriteInt64(1, v);
                                }
                                else if (dim.Param is { } p)
                                {
                                    d.WriteString(2, p);
                                }
                            });
                        }
                    });
                }
            }));
        }

        w.WriteStringIfSet(3, value.DocString);
    }

    private static void WriteStringPair(ProtoWriter w, KeyValuePair<string, string> entry)
    {
        w.WriteString(1, entry.Key);
        w.WriteString(2, entry.Value);
    }
}
