using System.Text;

namespace MobileNet.Orleans.Testing.Models;

/// <summary>
/// Writes a tiny, real ONNX classifier for tests that do not need the zoo model: input [N,3,H,W] (or NHWC) ->
/// GlobalAveragePool -> Flatten -> 3 logits, one per colour channel. A red image is "red", a green one "green", etc.
/// The protobuf is encoded by hand (a few fields of ModelProto), so tests need no model file from anywhere.
/// </summary>
public static class TinyOnnxModel
{
    public static readonly string[] Labels = ["red", "green", "blue"];

    /// <summary>Writes model.onnx and labels.txt into <paramref name="directory"/>; returns the model path.</summary>
    public static string Write(string directory, int size = 16, bool dynamicBatch = true, bool nhwc = false, bool writeLabels = true)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "model.onnx");
        File.WriteAllBytes(path, Build(size, dynamicBatch, nhwc));
        if (writeLabels)
        {
            File.WriteAllText(Path.Combine(directory, "labels.txt"), string.Join('\n', Labels) + "\n");
        }

        return path;
    }

    public static byte[] Build(int size, bool dynamicBatch, bool nhwc)
    {
        var graph = new Proto();
        var pooledInput = "input";
        if (nhwc)
        {
            // Transpose NHWC -> NCHW first.
            graph.Message(1, Node(["input"], ["nchw"], "Transpose", new Proto().String(1, "perm").Ints(8, [0, 3, 1, 2]).Varint(20, 7)));
            pooledInput = "nchw";
        }

        graph.Message(1, Node([pooledInput], ["pooled"], "GlobalAveragePool", null));
        graph.Message(1, Node(["pooled"], ["output"], "Flatten", null));
        graph.String(2, "tiny");
        Dim batch = dynamicBatch ? new Dim(null, "N") : new Dim(1, null);
        Dim[] inputDims = nhwc
            ? [batch, new Dim(size, null), new Dim(size, null), new Dim(3, null)]
            : [batch, new Dim(3, null), new Dim(size, null), new Dim(size, null)];
        graph.Message(11, ValueInfo("input", inputDims));
        graph.Message(12, ValueInfo("output", [batch, new Dim(3, null)]));

        var model = new Proto()
            .Varint(1, 8) // ir_version
            .String(2, "MobileNet.Inference.Tests")
            .Message(7, graph)
            .Message(8, new Proto().String(1, string.Empty).Varint(2, 13)); // opset 13
        return model.ToArray();
    }

    private static Proto Node(string[] inputs, string[] outputs, string op, Proto? attribute)
    {
        var node = new Proto();
        foreach (var i in inputs)
        {
            node.String(1, i);
        }

        foreach (var o in outputs)
        {
            node.String(2, o);
        }

        node.String(4, op);
        if (attribute is not null)
        {
            node.Message(5, attribute);
        }

        return node;
    }

    private static Proto ValueInfo(string name, Dim[] dims)
    {
        var shape = new Proto();
        foreach (var d in dims)
        {
            shape.Message(1, d.Value is { } v ? new Proto().Varint(1, v) : new Proto().String(2, d.Param!));
        }

        var tensor = new Proto().Varint(1, 1).Message(2, shape); // elem_type FLOAT
        return new Proto().String(1, name).Message(2, new Proto().Message(1, tensor));
    }

    private sealed record Dim(long? Value, string? Param);

    /// <summary>Minimal protobuf writer: varints, length-delimited strings and messages.</summary>
    private sealed class Proto
    {
        private readonly MemoryStream buffer = new();

        public Proto Varint(int field, long value)
        {
            WriteRaw((ulong)((field << 3) | 0));
            WriteRaw((ulong)value);
            return this;
        }

        public Proto String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public Proto Message(int field, Proto message) => Bytes(field, message.ToArray());

        public Proto Ints(int field, long[] values)
        {
            foreach (var v in values)
            {
                Varint(field, v);
            }

            return this;
        }

        public byte[] ToArray() => buffer.ToArray();

        private Proto Bytes(int field, byte[] bytes)
        {
            WriteRaw((ulong)((field << 3) | 2));
            WriteRaw((ulong)bytes.Length);
            buffer.Write(bytes);
            return this;
        }

        private void WriteRaw(ulong value)
        {
            while (value >= 0x80)
            {
                buffer.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }

            buffer.WriteByte((byte)value);
        }
    }
}
