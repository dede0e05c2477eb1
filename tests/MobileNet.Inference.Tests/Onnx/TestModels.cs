using MobileNet.Inference.Onnx;

namespace MobileNet.Inference.Tests.Onnx;

/// <summary>Small hand-made graphs for codec and analyzer tests.</summary>
internal static class TestModels
{
    /// <summary>input [N,3,8,8] -> Conv 3x3 (4 out, bias) -> Relu -> GlobalAveragePool -> Shape/Gather/Concat/Reshape -> MatMul + Add -> output [N,5].</summary>
    public static OnnxModel SmallConvNet(bool withSubgraph = false)
    {
        var graph = new OnnxGraph { Name = "small", DocString = "a test graph" };
        graph.Inputs.Add(OnnxValueInfo.Tensor("x", OnnxDataType.Float, OnnxDimension.Symbolic("N"), OnnxDimension.Fixed(3), OnnxDimension.Fixed(8), OnnxDimension.Fixed(8)));
        graph.Outputs.Add(OnnxValueInfo.Tensor("y", OnnxDataType.Float, OnnxDimension.Symbolic("N"), OnnxDimension.Fixed(5)));
        graph.Initializers.Add(OnnxTensor.FromFloats("w", [4, 3, 3, 3], Enumerable.Range(0, 108).Select(i => i * 0.01f).ToArray()));
        graph.Initializers.Add(new OnnxTensor { Name = "b", DataType = OnnxDataType.Float, Dims = [4], FloatData = [0.1f, -0.2f, 0.3f, -0.4f] });
        graph.Initializers.Add(new OnnxTensor { Name = "fc", DataType = OnnxDataType.Float, Dims = [4, 5], FloatData = [.. Enumerable.Range(0, 20).Select(i => (float)i)] });
        graph.Initializers.Add(new OnnxTensor { Name = "fc_bias", DataType = OnnxDataType.Double, Dims = [5], DoubleData = [1, 2, 3, 4, 5] });
        graph.Initializers.Add(new OnnxTensor { Name = "minus_one", DataType = OnnxDataType.Int64, Dims = [1], Int64Data = [-1] });
        graph.Initializers.Add(new OnnxTensor { Name = "zero", DataType = OnnxDataType.Int32, Dims = [], Int32Data = [0] });

        var conv = Node("Conv", "conv", ["x", "w", "b"], ["c"]);
        conv.Attributes.Add(OnnxAttribute.IntList("pads", 1, 1, 1, 1));
        conv.Attributes.Add(OnnxAttribute.IntList("strides", 2, 2));
        conv.Attributes.Add(OnnxAttribute.Float("alpha_unused", -1.5f));
        conv.Attributes.Add(OnnxAttribute.String("auto_pad", "NOTSET"));
        graph.Nodes.Add(conv);
        graph.Nodes.Add(Node("Relu", "relu", ["c"], ["r"]));
        graph.Nodes.Add(Node("GlobalAveragePool", "pool", ["r"], ["p"]));
        graph.Nodes.Add(Node("Shape", "shape", ["p"], ["s"]));
        var gather = Node("Gather", "gather", ["s", "zero"], ["batch"]);
        graph.Nodes.Add(gather);
        var unsqueeze = Node("Unsqueeze", "unsq", ["batch"], ["batch1"]);
        unsqueeze.Attributes.Add(OnnxAttribute.IntList("axes", 0));
        graph.Nodes.Add(unsqueeze);
        var concat = Node("Concat", "cat", ["batch1", "minus_one"], ["target"]);
        concat.Attributes.Add(OnnxAttribute.Int("axis", 0));
        graph.Nodes.Add(concat);
        graph.Nodes.Add(Node("Reshape", "reshape", ["p", "target"], ["f"]));
        graph.Nodes.Add(Node("MatMul", "fc", ["f", "fc"], ["m"]));
        graph.Nodes.Add(Node("Cast", "cast", ["m"], ["md"]));
        graph.Nodes.Add(Node("Add", "bias", ["md", "fc_bias"], ["y"]));

        var subgraph = new OnnxGraph { Name = "body" };
        subgraph.Nodes.Add(Node("Identity", "id", ["y"], ["z"]));
        var ifNode = Node("If", "never_run", ["cond"], ["unused"]);
        ifNode.Attributes.Add(new OnnxAttribute { Name = "then_branch", Type = OnnxAttributeType.Graph, G = subgraph });
        ifNode.Attributes.Add(new OnnxAttribute { Name = "tensor", Type = OnnxAttributeType.Tensor, T = OnnxTensor.FromInt64s("t", [2], [3, -4]) });
        var strings = new OnnxAttribute { Name = "names", Type = OnnxAttributeType.Strings };
        strings.Strings.Add("a"u8.ToArray());
        strings.Strings.Add("ünïcode"u8.ToArray());
        ifNode.Attributes.Add(strings);
        var floats = new OnnxAttribute { Name = "scales", Type = OnnxAttributeType.Floats };
        floats.Floats.AddRange([0.5f, float.MaxValue]);
        ifNode.Attributes.Add(floats);
        ifNode.Domain = "test.domain";
        if (withSubgraph)
        {
            graph.Nodes.Add(ifNode);
        }

        var model = new OnnxModel
        {
            IrVersion = 8,
            ProducerName = "tests",
            ProducerVersion = "1",
            Domain = "org.test",
            ModelVersion = 3,
            DocString = "doc",
            Graph = graph,
        };
        model.OpsetImports.Add(new OnnxOperatorSet("", 13));
        model.OpsetImports.Add(new OnnxOperatorSet("test.domain", 1));
        model.MetadataProps.Add(new("key", "value"));
        return model;
    }

    public static OnnxNode Node(string op, string name, string[] inputs, string[] outputs)
    {
        var node = new OnnxNode { OpType = op, Name = name };
        node.Inputs.AddRange(inputs);
        node.Outputs.AddRange(outputs);
        return node;
    }
}
