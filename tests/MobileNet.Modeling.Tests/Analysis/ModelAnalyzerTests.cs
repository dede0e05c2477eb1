using Google.Protobuf;
using MobileNet.Modeling.Analysis;
using MobileNet.Modeling.Onnx;
using MobileNet.Modeling.Tests.Onnx;

using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace MobileNet.Modeling.Tests.Analysis;

public sealed class ModelAnalyzerTests
{
    [Fact]
    public void Analyze_SmallConvNet_CountsLayersThroughShapeArithmetic()
    {
        var analysis = ModelAnalyzer.Analyze(TestModels.SmallConvNet());

        // Conv: 4x3x3x3 weights + 4 biases; MatMul 4x5; the Add's 5 (double) biases are learned too.
        Assert.Equal(108 + 4 + 20 + 5, analysis.Parameters);
        // Conv output 4x4x4, each element 3*3*3 MACs; MatMul 1x4 by 4x5.
        Assert.Equal((4 * 4 * 4 * 27) + 20, analysis.MultiplyAdds);
        Assert.Empty(analysis.Warnings);

        var conv = analysis.Layers.Single(l => l.Name == "conv");
        Assert.Equal([1L, 4, 4, 4], conv.OutputShape!);
        var fc = analysis.Layers.Single(l => l.Name == "fc");
        Assert.Equal([1L, 5], fc.OutputShape!);
        Assert.Equal(["N", "3", "8", "8"], analysis.Inputs.Single().Shape!);
        Assert.Equal("float", analysis.Outputs.Single().ElementType);
    }

    [Fact]
    public void Analyze_GroupedAndDepthwiseConv_DividesByGroups()
    {
        var model = SingleConv(inChannels: 8, outChannels: 16, group: 4, kernel: 3, size: 10, stride: 1, pad: 1);

        var analysis = ModelAnalyzer.Analyze(model);

        // Each output element sees 8/4 = 2 input channels through a 3x3 kernel.
        Assert.Equal(16 * 10 * 10 * 2 * 9, analysis.MultiplyAdds);
        Assert.Equal(16 * 2 * 9, analysis.Parameters);
    }

    [Fact]
    public void Analyze_StridedConvWithoutPadding_UsesFloorDivision()
    {
        var model = SingleConv(inChannels: 1, outChannels: 1, group: 1, kernel: 3, size: 8, stride: 2, pad: 0);

        var analysis = ModelAnalyzer.Analyze(model);

        Assert.Equal([1L, 1, 3, 3], analysis.Layers.Single().OutputShape!);
        Assert.Equal(3 * 3 * 9, analysis.MultiplyAdds);
    }

    [Fact]
    public void Analyze_QuantizationScalesAndShapes_AreNotParameters()
    {
        var graph = new GraphProto();
        graph.Input.Add(OnnxProtos.TensorValue("x", DataType.Float, 1L, 6L));
        graph.Output.Add(OnnxProtos.TensorValue("y", DataType.Float));
        graph.Initializer.Add(TestModels.Tensor("scale", DataType.Float, [], t => t.FloatData.Add(0.1f)));
        graph.Initializer.Add(TestModels.Tensor("zp", DataType.Uint8, [], t => t.Int32Data.Add(128)));
        graph.Initializer.Add(TestModels.Tensor("w_scale", DataType.Float, [3], t => t.FloatData.AddRange([0.1f, 0.2f, 0.3f])));
        graph.Initializer.Add(TestModels.Tensor("w_zp", DataType.Int8, [3], t => t.Int32Data.AddRange([0, 0, 0])));
        graph.Initializer.Add(TestModels.Tensor("w", DataType.Int8, [6, 3], t => t.RawData = ByteString.CopyFrom(new byte[18])));
        graph.Initializer.Add(OnnxProtos.Int64Tensor("shape", [2], [3, 1]));
        graph.Node.Add(TestModels.Node("QuantizeLinear", "q", ["x", "scale", "zp"], ["xq"]));
        graph.Node.Add(TestModels.Node("QLinearMatMul", "mm", ["xq", "scale", "zp", "w", "w_scale", "w_zp", "scale", "zp"], ["yq"]));
        graph.Node.Add(TestModels.Node("DequantizeLinear", "dq", ["yq", "scale", "zp"], ["yf"]));
        graph.Node.Add(TestModels.Node("Reshape", "r", ["yf", "shape"], ["y"]));

        var analysis = ModelAnalyzer.Analyze(new ModelProto { IrVersion = 8, Graph = graph });

        Assert.Equal(18, analysis.Parameters);
        Assert.Equal(18, analysis.MultiplyAdds);
        Assert.Empty(analysis.Warnings);
    }

    [Fact]
    public void Analyze_UnknownOperator_WarnsAndStillCountsLaterLayersWithDeclaredShapes()
    {
        var model = SingleConv(inChannels: 2, outChannels: 2, group: 1, kernel: 1, size: 4, stride: 1, pad: 0);
        var graph = model.Graph;
        // An operator the analyzer does not know sits before the conv; value_info declares its output shape.
        graph.Node[0].Input[0] = "mystery_out";
        graph.Node.Insert(0, TestModels.Node("MysteryOp", "mystery", ["x"], ["mystery_out"]));
        graph.ValueInfo.Add(OnnxProtos.TensorValue("mystery_out", DataType.Float, 1L, 2L, 4L, 4L));

        var analysis = ModelAnalyzer.Analyze(model);

        Assert.Equal(2 * 2 * 16, analysis.MultiplyAdds);
        Assert.Empty(analysis.Warnings);

        graph.ValueInfo.Clear();
        var blind = ModelAnalyzer.Analyze(model);
        Assert.Equal(0, blind.MultiplyAdds);
        Assert.Contains(blind.Warnings, w => w.Contains("MysteryOp", StringComparison.Ordinal));
        Assert.False(blind.IsComplete);
    }

    [Fact]
    public void Analyze_MutatedModels_NeverThrowAnythingButFormatErrors()
    {
        var bytes = OnnxModelFile.ToBytes(TestModels.SmallConvNet(withSubgraph: true));
        var random = new Random(99);
        for (var i = 0; i < 3000; i++)
        {
            var mutated = (byte[])bytes.Clone();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
            {
                mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
            }

            var ex = Record.Exception(() => ModelAnalyzer.Analyze(OnnxModelFile.Read(mutated)));

            Assert.True(ex is null or OnnxFormatException, $"iteration {i}: {ex}");
        }
    }

    [Fact]
    public void Analyze_DeclaredShapesOfWrongRank_WarnsInsteadOfCrashing()
    {
        var model = SingleConv(inChannels: 2, outChannels: 2, group: 1, kernel: 1, size: 4, stride: 1, pad: 0);
        model.Graph.Input[0] = OnnxProtos.TensorValue("x", DataType.Float);
        model.Graph.Output[0] = OnnxProtos.TensorValue("y", DataType.Float);

        var analysis = ModelAnalyzer.Analyze(model);

        Assert.Equal(0, analysis.MultiplyAdds);
        Assert.Equal(4, analysis.Parameters);
        Assert.NotEmpty(analysis.Warnings);
    }

    [Fact]
    public void Analyze_ConvTranspose_CountsPerInputPixel()
    {
        var graph = new GraphProto();
        graph.Input.Add(OnnxProtos.TensorValue("x", DataType.Float, 1L, 4L, 5L, 5L));
        graph.Output.Add(OnnxProtos.TensorValue("y", DataType.Float));
        graph.Initializer.Add(OnnxProtos.FloatTensor("w", [4, 3, 2, 2], new float[48]));
        var node = TestModels.Node("ConvTranspose", "up", ["x", "w"], ["y"]);
        node.Attribute.Add(OnnxProtos.Ints("strides", 2, 2));
        graph.Node.Add(node);

        var analysis = ModelAnalyzer.Analyze(new ModelProto { IrVersion = 8, Graph = graph });

        // Output 2*(5-1)+2 = 10; each of the 25 input pixels scatters 4 channels x (3x2x2) weights.
        Assert.Equal([1L, 3, 10, 10], analysis.Layers.Single().OutputShape!);
        Assert.Equal(25 * 48, analysis.MultiplyAdds);
    }

    [Fact]
    public void Analyze_GemmTransposedAndBatchedMatMul_UseTheRightDimensions()
    {
        var graph = new GraphProto();
        graph.Input.Add(OnnxProtos.TensorValue("a", DataType.Float, 6L, 2L));
        graph.Input.Add(OnnxProtos.TensorValue("q", DataType.Float, 3L, 4L, 5L));
        graph.Input.Add(OnnxProtos.TensorValue("k", DataType.Float, 3L, 5L, 7L));
        graph.Output.Add(OnnxProtos.TensorValue("y", DataType.Float));
        graph.Output.Add(OnnxProtos.TensorValue("z", DataType.Float));
        graph.Initializer.Add(OnnxProtos.FloatTensor("b", [9, 6], new float[54]));
        var gemm = TestModels.Node("Gemm", "gemm", ["a", "b"], ["y"]);
        gemm.Attribute.Add(OnnxProtos.Int("transA", 1));
        gemm.Attribute.Add(OnnxProtos.Int("transB", 1));
        graph.Node.Add(gemm);
        graph.Node.Add(TestModels.Node("MatMul", "attention", ["q", "k"], ["z"]));

        var analysis = ModelAnalyzer.Analyze(new ModelProto { IrVersion = 8, Graph = graph });

        Assert.Equal([2L, 9], analysis.Layers[0].OutputShape!);
        Assert.Equal(2 * 6 * 9, analysis.Layers[0].MultiplyAdds);
        Assert.Equal([3L, 4, 7], analysis.Layers[1].OutputShape!);
        Assert.Equal(3 * 4 * 5 * 7, analysis.Layers[1].MultiplyAdds);
        Assert.Equal(54, analysis.Parameters);
    }

    [Fact]
    public void Analyze_PoolTransposeSliceFlatten_InfersShapes()
    {
        var graph = new GraphProto();
        graph.Input.Add(OnnxProtos.TensorValue("x", DataType.Float, 1L, 8L, 7L, 7L));
        graph.Output.Add(OnnxProtos.TensorValue("y", DataType.Float));
        graph.Initializer.Add(OnnxProtos.Int64Tensor("starts", [1], [1]));
        graph.Initializer.Add(OnnxProtos.Int64Tensor("ends", [1], [long.MaxValue]));
        graph.Initializer.Add(OnnxProtos.Int64Tensor("axes", [1], [-1]));
        graph.Initializer.Add(OnnxProtos.FloatTensor("w", [3, 3 * 3 * 7], new float[189]));
        var pool = TestModels.Node("MaxPool", "pool", ["x"], ["p"]);
        pool.Attribute.Add(OnnxProtos.Ints("kernel_shape", 3, 3));
        pool.Attribute.Add(OnnxProtos.Ints("strides", 2, 2));
        pool.Attribute.Add(OnnxProtos.Int("ceil_mode", 1));
        graph.Node.Add(pool);
        var transpose = TestModels.Node("Transpose", "t", ["p"], ["t"]);
        transpose.Attribute.Add(OnnxProtos.Ints("perm", 0, 2, 3, 1));
        graph.Node.Add(transpose);
        graph.Node.Add(TestModels.Node("Slice", "s", ["t", "starts", "ends", "axes"], ["s"]));
        graph.Node.Add(TestModels.Node("Flatten", "f", ["s"], ["f"]));
        graph.Node.Add(TestModels.Node("Gemm", "fc", ["f", "w"], ["y"]));
        graph.Node[^1].Attribute.Add(OnnxProtos.Int("transB", 1));

        var analysis = ModelAnalyzer.Analyze(new ModelProto { IrVersion = 8, Graph = graph });

        // Pool: 7 -> ceil((7-3)/2)+1 = 3; transposed to [1,3,3,8]; slicing the last axis from 1 leaves 7; flattened 63.
        Assert.Empty(analysis.Warnings);
        Assert.Equal([1L, 3], analysis.Layers.Single().OutputShape!);
        Assert.Equal(3 * 3 * 7 * 3, analysis.MultiplyAdds);
    }

    [SkippableFact]
    public void Analyze_ZooMobileNetV2Int8_CountsAbout3Point5MParametersAnd300MMultiplyAdds()
    {
        var model = OnnxModelFile.ReadFile(TestFixtures.ZooModel);

        var analysis = ModelAnalyzer.Analyze(model);

        // int8 weights and int32 biases of its QLinearConv/QGemm layers (BN is folded in), without scales/zero points.
        Assert.InRange(analysis.Parameters, 3.45e6, 3.55e6);
        Assert.InRange(analysis.MultiplyAdds, 294e6, 306e6);
        Assert.Equal(0, analysis.BatchNormParameters);
        Assert.Empty(analysis.Warnings);
        var input = analysis.Inputs.Single().Shape!;
        Assert.Equal(["3", "224", "224"], input.Skip(1));
        Assert.False(long.TryParse(input[0], out _), "the batch dimension is symbolic");
        Assert.Equal(1000L, analysis.Layers[^1].OutputShape![^1]);
    }

    private static ModelProto SingleConv(int inChannels, int outChannels, int group, int kernel, int size, int stride, int pad)
    {
        var graph = new GraphProto();
        graph.Input.Add(OnnxProtos.TensorValue("x", DataType.Float, "batch", (long)(inChannels), (long)(size), (long)(size)));
        graph.Output.Add(OnnxProtos.TensorValue("y", DataType.Float));
        var weights = outChannels * (inChannels / group) * kernel * kernel;
        graph.Initializer.Add(OnnxProtos.FloatTensor("w", [outChannels, inChannels / group, kernel, kernel], new float[weights]));
        var conv = TestModels.Node("Conv", "conv", ["x", "w"], ["y"]);
        conv.Attribute.Add(OnnxProtos.Int("group", group));
        conv.Attribute.Add(OnnxProtos.Ints("strides", stride, stride));
        conv.Attribute.Add(OnnxProtos.Ints("pads", pad, pad, pad, pad));
        graph.Node.Add(conv);
        return new ModelProto { IrVersion = 8, Graph = graph };
    }
}
