using Google.Protobuf;
using MobileNet.Inference.Files;
using Onnx;

namespace MobileNet.Modeling.Onnx;

/// <summary>
/// Reads and writes ONNX files (ModelProto) through OnnxSharp's generated types on Google.Protobuf. Input is
/// untrusted: Google.Protobuf checks every length against what remains and caps message nesting; this class adds the
/// 2 GiB single-file limit and the checks that make bytes an ONNX model (a graph, an IR version).
/// </summary>
public static class OnnxModelFile
{
    /// <summary>Protocol-buffer messages cannot exceed 2 GiB; larger files are not single-file ONNX models.</summary>
    public const long MaxFileBytes = int.MaxValue;

    /// <summary>Message nesting Google.Protobuf's parser allows (its default recursion limit): about 30 levels of
    /// subgraphs (If/Loop bodies), each three messages deep (node, attribute, graph).</summary>
    public const int MaxNesting = 100;

    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="OnnxFormatException">The file is not a well-formed ONNX model.</exception>
    public static ModelProto ReadFile(string path)
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
    public static ModelProto Read(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            throw new OnnxFormatException("invalid ONNX file: it is empty");
        }

        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new OnnxFormatException($"invalid ONNX file: {Describe(ex)}", ex);
        }

        if (model.Graph is null)
        {
            throw new OnnxFormatException("invalid ONNX file: it has no graph (is this an ONNX model?)");
        }

        if (model.IrVersion <= 0)
        {
            throw new OnnxFormatException($"invalid ONNX file: ir_version is {model.IrVersion} (missing or corrupt)");
        }

        // A graph that produces nothing is no model; it is also what a corrupt length (read, as protobuf does, as its
        // low 32 bits) that happens to come out as 0 leaves behind.
        if (model.Graph.Output.Count == 0)
        {
            throw new OnnxFormatException("invalid ONNX file: its graph has no outputs (truncated or corrupt?)");
        }

        return model;
    }

    /// <exception cref="InvalidOperationException">A tensor has no data (a shape-only model), or the model exceeds 2 GiB.</exception>
    public static byte[] ToBytes(ModelProto model)
    {
        CheckWritable(model);
        return model.ToByteArray();
    }

    /// <summary>Writes to a temporary file beside <paramref name="path"/> and renames it, so readers never see half a model.</summary>
    public static void WriteFile(ModelProto model, string path)
    {
        CheckWritable(model);
        AtomicFile.Write(path, model.WriteTo);
    }

    private static string Describe(InvalidProtocolBufferException ex) =>
        ex.Message.Contains("nesting", StringComparison.OrdinalIgnoreCase)
            ? $"messages nested more than {MaxNesting} levels deep (hostile or broken subgraphs)"
            : ex.Message.Contains("ended unexpectedly", StringComparison.OrdinalIgnoreCase)
                ? "truncated: the data ends inside a field, or a field declares more bytes than remain"
                : ex.Message;

    private static void CheckWritable(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Graph is not null)
        {
            CheckTensors(model.Graph);
        }

        var size = model.CalculateSize();
        if (size < 0 || size > MaxFileBytes)
        {
            throw new InvalidOperationException("the model encodes to more than 2 GiB, over the limit of a single-file ONNX model");
        }
    }

    private static void CheckTensors(GraphProto graph)
    {
        foreach (var tensor in graph.Initializer)
        {
            if (!tensor.HasData())
            {
                throw new InvalidOperationException($"tensor '{tensor.Name}' has no data to write (a shape-only graph cannot be saved)");
            }
        }

        foreach (var attribute in graph.Node.SelectMany(n => n.Attribute))
        {
            if (attribute.G is { } subgraph)
            {
                CheckTensors(subgraph);
            }

            foreach (var g in attribute.Graphs)
            {
                CheckTensors(g);
            }
        }
    }
}
