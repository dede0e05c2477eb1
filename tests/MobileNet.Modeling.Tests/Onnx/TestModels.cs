using Google.Protobuf;
using MobileNet.Modeling.Onnx;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace MobileNet.Modeling.Tests.Onnx;

/// <summary>Small hand-made graphs for codec and analyzer tests.</summary>
internal static class TestModels
{
    /// <summary>input [N,3,8,8] -> Conv 3x3 (4 out, bias) -> Relu -> GlobalAveragePool -> Shape/Gather/Concat/Reshape -> MatMul + Add -> output [N,5].</summary>
    public static ModelProto SmallConvNet(bool withSubgraph = false)
    {
        var graph = new GraphProto { Name = "small", DocString = "a test graph" };
        graph.Input.Add(OnnxProtos.TensorValue("x", DataType.Float, "N", 3L, 8L, 8L));
        graph.Output.Add(OnnxProtos.TensorValue("y", DataType.Float, "N", 5L));
        graph.Initializer.Add(OnnxProtos.FloatTensor("w", [4, 3, 3, 3], Enumerable.Range(0, 108).Select(i => i * 0.01f).ToArray()));
        graph.Initializer.Add(Tensor("b", DataType.Float, [4], t => t.FloatData.AddRange([0.1f, -0.2f, 0.3f, -0.4f])));
        graph.Initializer.Add(Tensor("fc", DataType.Float, [4, 5], t => t.FloatData.AddRange(Enumerable.Range(0, 20).Select(i => (float)i))));
        graph.Initializer.Add(Tensor("fc_bias", DataType.Double, [5], t => t.DoubleData.AddRange([1, 2, 3, 4, 5])));
        graph.Initializer.Add(Tensor("minus_one", DataType.Int64, [1], t => t.Int64Data.AddRange([-1])));
        graph.Initializer.Add(Tensor("zero", DataType.Int32, [], t => t.Int32Data.AddRange([0])));

        var conv = Node("Conv", "conv", ["x", "w", "b"], ["c"]);
        conv.Attribute.Add(OnnxProtos.Ints("pads", 1, 1, 1, 1));
        conv.Attribute.Add(OnnxProtos.Ints("strides", 2, 2));
        conv.Attribute.Add(OnnxProtos.Float("alpha_unused", -1.5f));
        conv.Attribute.Add(OnnxProtos.String("auto_pad", "NOTSET"));
        graph.Node.Add(conv);
        graph.Node.Add(Node("Relu", "relu", ["c"], ["r"]));
        graph.Node.Add(Node("GlobalAveragePool", "pool", ["r"], ["p"]));
        graph.Node.Add(Node("Shape", "shape", ["p"], ["s"]));
        var gather = Node("Gather", "gather", ["s", "zero"], ["batch"]);
        graph.Node.Add(gather);
        var unsqueeze = Node("Unsqueeze", "unsq", ["batch"], ["batch1"]);
        unsqueeze.Attribute.Add(OnnxProtos.Ints("axes", 0));
        graph.Node.Add(unsqueeze);
        var concat = Node("Concat", "cat", ["batch1", "minus_one"], ["target"]);
        concat.Attribute.Add(OnnxProtos.Int("axis", 0));
        graph.Node.Add(concat);
        graph.Node.Add(Node("Reshape", "reshape", ["p", "target"], ["f"]));
        graph.Node.Add(Node("MatMul", "fc", ["f", "fc"], ["m"]));
        graph.Node.Add(Node("Cast", "cast", ["m"], ["md"]));
        graph.Node.Add(Node("Add", "bias", ["md", "fc_bias"], ["y"]));

        var subgraph = new GraphProto { Name = "body" };
        subgraph.Node.Add(Node("Identity", "id", ["y"], ["z"]));
        var ifNode = Node("If", "never_run", ["cond"], ["unused"]);
        ifNode.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = subgraph });
        ifNode.Attribute.Add(new AttributeProto { Name = "tensor", Type = AttributeProto.Types.AttributeType.Tensor, T = OnnxProtos.Int64Tensor("t", [2], [3, -4]) });
        var strings = new AttributeProto { Name = "names", Type = AttributeProto.Types.AttributeType.Strings };
        strings.Strings.Add(ByteString.CopyFromUtf8("a"));
        strings.Strings.Add(ByteString.CopyFromUtf8("ünïcode"));
        ifNode.Attribute.Add(strings);
        var floats = new AttributeProto { Name = "scales", Type = AttributeProto.Types.AttributeType.Floats };
        floats.Floats.AddRange([0.5f, float.MaxValue]);
        ifNode.Attribute.Add(floats);
        ifNode.Domain = "test.domain";
        if (withSubgraph)
        {
            graph.Node.Add(ifNode);
        }

        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "tests",
            ProducerVersion = "1",
            Domain = "org.test",
            ModelVersion = 3,
            DocString = "doc",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "test.domain", Version = 1 });
        model.MetadataProps.Add(new StringStringEntryProto { Key = "key", Value = "value" });
        return model;
    }

    public static NodeProto Node(string op, string name, string[] inputs, string[] outputs) => OnnxProtos.Node(op, name, inputs, outputs);

    /// <summary>A tensor whose values sit in a typed field (not raw_data), as some exporters write them.</summary>
    public static TensorProto Tensor(string name, DataType type, long[] dims, Action<TensorProto> fill)
    {
        var tensor = OnnxProtos.ShapeOnlyTensor(name, type, dims);
        fill(tensor);
        return tensor;
    }
}
