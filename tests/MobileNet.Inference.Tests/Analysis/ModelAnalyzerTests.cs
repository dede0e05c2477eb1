using MobileNet.Inference.Analysis;
using MobileNet.Inference.Onnx;
using MobileNet.Inference.Tests.Onnx;

namespace MobileNet.Inference.Tests.Analysis;

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
        var graph = new OnnxGraph();
        graph.Inputs.Add(OnnxValueInfo.Tensor("x", OnnxDataType.Float, OnnxDimension.Fixed(1), OnnxDimension.Fixed(6)));
        graph.Outputs.Add(OnnxValueInfo.Tensor("y", OnnxDataType.Float));
        graph.Initializers.Add(new OnnxTensor { Name = "scale", DataType = OnnxDataType.Float, Dims = [], FloatData = [0.1f] });
        graph.Initializers.Add(new OnnxTensor { Name = "zp", DataType = OnnxDataType.UInt8, Dims = [], Int32Data = [128] });
        graph.Initializers.Add(new OnnxTensor { Name = "w_scale", DataType = OnnxDataType.Float, Dims = [3], FloatData = [0.1f, 0.2f, 0.3f] });
        graph.Initializers.Add(new OnnxTensor { Name = "w_zp", DataType = OnnxDataType.Int8, Dims = [3], Int32Data = [0, 0, 0] });
        graph.Initializers.Add(new OnnxTensor { Name = "w", DataType = OnnxDataType.Int8, Dims = [6, 3], HasRawData = true, RawData = new byte[18] });
        graph.Initializers.Add(OnnxTensor.FromInt64s("shape", [2], [3, 1]));
        graph.Nodes.Add(TestModels.Node("QuantizeLinear", "q", ["x", "scale", "zp"], ["xq"]));
        graph.Nodes.Add(TestModels.Node("QLinearMatMul", "mm", ["xq", "scale", "zp", "w", "w_scale", "w_zp", "scale", "zp"], ["yq"]));
        graph.Nodes.Add(TestModels.Node("DequantizeLinear", "dq", ["yq", "scale", "zp"], ["yf"]));
        graph.Nodes.Add(TestModels.Node("Reshape", "r", ["yf", "shape"], ["y"]));

        var analysis = ModelAnalyzer.Analyze(new OnnxModel { IrVersion = 8, Graph = graph });

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
        graph.Nodes[0].Inputs[0] = "mystery_out";
        graph.Nodes.Insert(0, TestModels.Node("MysteryOp", "mystery", ["x"], ["mystery_out"]));
        graph.ValueInfo.Add(OnnxValueInfo.Tensor("mystery_out", OnnxDataType.Float, OnnxDimension.Fixed(1), OnnxDimension.Fixed(2), OnnxDimension.Fixed(4), OnnxDimension.Fixed(4)));

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
        var bytes = OnnxModelWriter.ToBytes(TestModels.SmallConvNet(withSubgraph: true));
        var random = new Random(99);
        for (var i = 0; i < 3000; i++)
        {
            var mutated = (byte[])bytes.Clone();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
            {
                mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
            }

            var ex = Record.Exception(() => ModelAnalyzer.Analyze(OnnxModelReader.Read(mutated)));

            Assert.True(ex is null or OnnxFormatException, $"iteration {i}: {ex}");
        }
    }

    [Fact]
    public void Analyze_DeclaredShapesOfWrongRank_WarnsInsteadOfCrashing()
    {
        var model = SingleConv(inChannels: 2, outChannels: 2, group: 1, kernel: 1, size: 4, stride: 1, pad: 0);
        model.Graph.Inputs[0] = OnnxValueInfo.Tensor("x", OnnxDataType.Float);
        model.Graph.Outputs[0] = OnnxValueInfo.Tensor("y", OnnxDataType.Float);

        var analysis = ModelAnalyzer.Analyze(model);

        Assert.Equal(0, analysis.MultiplyAdds);
        Assert.Equal(4, analysis.Parameters);
        Assert.NotEmpty(analysis.Warnings);
    }

    [Fact]
    public void Analyze_ConvTranspose_CountsPerInputPixel()
    {
        var graph = new OnnxGraph();
        graph.Inputs.Add(OnnxValueInfo.Tensor("x", OnnxDataType.Float, OnnxDimension.Fixed(1), OnnxDimension.Fixed(4), OnnxDimension.Fixed(5), OnnxDimension.Fixed(5)));
        graph.Outputs.Add(OnnxValueInfo.Tensor("y", OnnxDataType.Float));
        graph.Initializers.Add(OnnxTensor.FromFloats("w", [4, 3, 2, 2], new float[48]));
        var node = TestModels.Node("ConvTranspose", "up", ["x", "w"], ["y"]);
        node.Attributes.Add(OnnxAttribute.IntList("strides", 2, 2));
        graph.Nodes.Add(node);

        var analysis = ModelAnalyzer.Analyze(new OnnxModel { IrVersion = 8, Graph = graph });

        // Output 2*(5-1)+2 = 10; each of the 25 input pixels scatters 4 channels x (3x2x2) weights.
        Assert.Equal([1L, 3, 10, 10], analysis.Layers.Single().OutputShape!);
        Assert.Equal(25 * 48, analysis.MultiplyAdds);
    }

    [Fact]
    public void Analyze_GemmTransposedAndBatchedMatMul_UseTheRightDimensions()
    {
        var graph = new OnnxGraph();
        graph.Inputs.Add(OnnxValueInfo.Tensor("a", OnnxDataType.Float, OnnxDimension.Fixed(6), OnnxDimension.Fixed(2)));
        graph.Inputs.Add(OnnxValueInfo.Tensor("q", OnnxDataType.Float, OnnxDimension.Fixed(3), OnnxDimension.Fixed(4), OnnxDimension.Fixed(5)));
        graph.Inputs.Add(OnnxValueInfo.Tensor("k", OnnxDataType.Float, OnnxDimension.Fixed(3), OnnxDimension.Fixed(5), OnnxDimension.Fixed(7)));
        graph.Outputs.Add(OnnxValueInfo.Tensor("y", OnnxDataType.Float));
        graph.Outputs.Add(OnnxValueInfo.Tensor("z", OnnxDataType.Float));
        graph.Initializers.Add(OnnxTensor.FromFloats("b", [9, 6], new float[54]));
        var gemm = TestModels.Node("Gemm", "gemm", ["a", "b"], ["y"]);
        gemm.Attributes.Add(OnnxAttribute.Int("transA", 1));
        gemm.Attributes.Add(OnnxAttribute.Int("transB", 1));
        graph.Nodes.Add(gemm);
        graph.Nodes.Add(TestModels.Node("MatMul", "attention", ["q", "k"], ["z"]));

        var analysis = ModelAnalyzer.Analyze(new OnnxModel { IrVersion = 8, Graph = graph });

        Assert.Equal([2L, 9], analysis.Layers[0].OutputShape!);
        Assert.Equal(2 * 6 * 9, analysis.Layers[0].MultiplyAdds);
        Assert.Equal([3L, 4, 7], analysis.Layers[1].OutputShape!);
        Assert.Equal(3 * 4 * 5 * 7, analysis.Layers[1].MultiplyAdds);
        Assert.Equal(54, analysis.Parameters);
    }

    [Fact]
    public void Analyze_PoolTransposeSliceFlatten_InfersShapes()
    {
        var graph = new OnnxGraph();
        graph.Inputs.Add(OnnxValueInfo.Tensor("x", OnnxDataType.Float, OnnxDimension.Fixed(1), OnnxDimension.Fixed(8), OnnxDimension.Fixed(7), OnnxDimension.Fixed(7)));
        graph.Outputs.Add(OnnxValueInfo.Tensor("y", OnnxDataType.Float));
        graph.Initializers.Add(OnnxTensor.FromInt64s("starts", [1], [1]));
        graph.Initializers.Add(OnnxTensor.FromInt64s("ends", [1], [long.MaxValue]));
        graph.Initializers.Add(OnnxTensor.FromInt64s("axes", [1], [-1]));
        graph.Initializers.Add(OnnxTensor.FromFloats("w", [3, 3 * 3 * 7], new float[189]));
        var pool = TestModels.Node("MaxPool", "pool", ["x"], ["p"]);
        pool.Attributes.Add(OnnxAttribute.IntList("kernel_shape", 3, 3));
        pool.Attributes.Add(OnnxAttribute.IntList("strides", 2, 2));
        pool.Attributes.Add(OnnxAttribute.Int("ceil_mode", 1));
        graph.Nodes.Add(pool);
        var transpose = TestModels.Node("Transpose", "t", ["p"], ["t"]);
        transpose.Attributes.Add(OnnxAttribute.IntList("perm", 0, 2, 3, 1));
        graph.Nodes.Add(transpose);
        graph.Nodes.Add(TestModels.Node("Slice", "s", ["t", "starts", "ends", "axes"], ["s"]));
        graph.Nodes.Add(TestModels.Node("Flatten", "f", ["s"], ["f"]));
        graph.Nodes.Add(TestModels.Node("Gemm", "fc", ["f", "w"], ["y"]));
        graph.Nodes[^1].Attributes.Add(OnnxAttribute.Int("transB", 1));

        var analysis = ModelAnalyzer.Analyze(new OnnxModel { IrVersion = 8, Graph = graph });

        // Pool: 7 -> ceil((7-3)/2)+1 = 3; transposed to [1,3,3,8]; slicing the last axis from 1 leaves 7; flattened 63.
        Assert.Empty(analysis.Warnings);
        Assert.Equal([1L, 3], analysis.Layers.Single().OutputShape!);
        Assert.Equal(3 * 3 * 7 * 3, analysis.MultiplyAdds);
    }

    [SkippableFact]
    public void Analyze_ZooMobileNetV2Int8_CountsAbout3Point5MParametersAnd300MMultiplyAdds()
    {
        var model = OnnxModelReader.ReadFile(TestFixtures.ZooModel);

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

    private static OnnxModel SingleConv(int inChannels, int outChannels, int group, int kernel, int size, int stride, int pad)
    {
        var graph = new OnnxGraph();
        graph.Inputs.Add(OnnxValueInfo.Tensor("x", OnnxDataType.Float, OnnxDimension.Symbolic("batch"), OnnxDimension.Fixed(inChannels), OnnxDimension.Fixed(size), OnnxDimension.Fixed(size)));
        graph.Outputs.Add(OnnxValueInfo.Tensor("y", OnnxDataType.Float));
        var weights = outChannels * (inChannels / group) * kernel * kernel;
        graph.Initializers.Add(OnnxTensor.FromFloats("w", [outChannels, inChannels / group, kernel, kernel], new float[weights]));
        var conv = TestModels.Node("Conv", "conv", ["x", "w"], ["y"]);
        conv.Attributes.Add(OnnxAttribute.Int("group", group));
        conv.Attributes.Add(OnnxAttribute.IntList("strides", stride, stride));
        conv.Attributes.Add(OnnxAttribute.IntList("pads", pad, pad, pad, pad));
        graph.Nodes.Add(conv);
        return new OnnxModel { IrVersion = 8, Graph = graph };
    }
}
