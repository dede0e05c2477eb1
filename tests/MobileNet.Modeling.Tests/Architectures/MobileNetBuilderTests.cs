using MobileNet.Modeling.Analysis;
using MobileNet.Modeling.Architectures;
using MobileNet.Modeling.Onnx;
using Microsoft.ML.OnnxRuntime;

using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace MobileNet.Modeling.Tests.Architectures;

public sealed class MobileNetBuilderTests
{
    [Fact]
    public void Build_MobileNetV1_Has28ConvAndFullyConnectedLayers()
    {
        var model = MobileNetBuilder.Build(new MobileNetSpec(MobileNetArchitecture.MobileNetV1), includeWeights: false);

        var layers = model.Graph.Node.Where(n => n.OpType is "Conv" or "Gemm").ToList();
        Assert.Equal(28, layers.Count);
        Assert.Equal(13, layers.Count(n => n.GetInt("group", 1) > 1));
        Assert.Single(model.Graph.Node, n => n.OpType == "Softmax");
    }

    [Fact]
    public void Build_FullConvolutionV1_Has15LayersAndNoDepthwise()
    {
        var model = MobileNetBuilder.Build(new MobileNetSpec(MobileNetArchitecture.MobileNetV1, FullConvolution: true), includeWeights: false);

        var layers = model.Graph.Node.Where(n => n.OpType is "Conv" or "Gemm").ToList();
        Assert.Equal(15, layers.Count);
        Assert.All(layers, n => Assert.Equal(1, n.GetInt("group", 1)));
    }

    [Fact]
    public void Build_MobileNetV2_HasTenResidualAddsAndRelu6()
    {
        var model = MobileNetBuilder.Build(new MobileNetSpec(MobileNetArchitecture.MobileNetV2), includeWeights: false);

        // Stages repeat 1,2,3,4,3,3,1 times; every repeat after the first of a stage adds its input back.
        Assert.Equal(10, model.Graph.Node.Count(n => n.OpType == "Add"));
        Assert.Equal(17, model.Graph.Node.Count(n => n.OpType == "Conv" && n.GetInt("group", 1) > 1));
        Assert.Contains(model.Graph.Node, n => n.OpType == "Clip");
        Assert.DoesNotContain(model.Graph.Node, n => n.OpType == "Relu");
    }

    [Theory]
    [InlineData(MobileNetArchitecture.MobileNetV3Large, 15, 8, 6, 10)]
    [InlineData(MobileNetArchitecture.MobileNetV3Small, 11, 9, 8, 6)]
    public void Build_MobileNetV3_HasTheTablesBlocksSqueezeExcitationAnd5x5Depthwise(
        MobileNetArchitecture arch, int blocks, int squeezeExcite, int fiveByFive, int residuals)
    {
        var model = MobileNetBuilder.Build(new MobileNetSpec(arch), includeWeights: false);
        var nodes = model.Graph.Node;

        var depthwise = nodes.Where(n => n.OpType == "Conv" && n.GetInt("group", 1) > 1).ToList();
        Assert.Equal(blocks, depthwise.Count);
        Assert.Equal(fiveByFive, depthwise.Count(n => n.GetInts("kernel_shape")![0] == 5));
        Assert.Equal(squeezeExcite, nodes.Count(n => n.OpType == "Mul"));
        Assert.Equal(squeezeExcite, nodes.Count(n => n.OpType == "HardSigmoid"));
        Assert.Equal(residuals, nodes.Count(n => n.OpType == "Add"));
        Assert.Contains(nodes, n => n.OpType == "HardSwish");
        Assert.Equal(MobileNetBuilder.V3OpsetVersion, model.OpsetImport.Single().Version);
        // The last stage: pool, then the 1x1 head conv (with bias, no BN), then the classifier.
        var head = nodes.Single(n => n.Name == "conv_head");
        Assert.Equal(3, head.Input.Count);
        Assert.Equal("GlobalAveragePool", nodes.Single(n => n.Output.Contains(head.Input[0])).OpType);
    }

    [Theory]
    [InlineData(MobileNetArchitecture.MobileNetV3Large, 1.0, 1280)]
    [InlineData(MobileNetArchitecture.MobileNetV3Large, 0.75, 1280)]
    [InlineData(MobileNetArchitecture.MobileNetV3Small, 0.5, 1024)]
    [InlineData(MobileNetArchitecture.MobileNetV3Small, 1.25, 1280)]
    public void Build_MobileNetV3_HeadKeepsItsSizeUpToWidthOne(MobileNetArchitecture arch, double width, int headChannels)
    {
        var model = MobileNetBuilder.Build(new MobileNetSpec(arch, width), includeWeights: false);

        var weight = model.Graph.Initializer.Single(t => t.Name == "conv_head.weight");
        Assert.Equal(headChannels, weight.Dims[0]);
    }

    [Theory]
    [InlineData(0.75, 24)]
    [InlineData(0.5, 16)]
    [InlineData(0.35, 11)]
    [InlineData(1.3, 41)]
    public void V1Channels_WidthMultiplier_TruncatesLikeThePaper(double width, int expected)
    {
        Assert.Equal(expected, MobileNetBuilder.V1Channels(32, width));
    }

    [Theory]
    [InlineData(32 * 0.35, 16)]
    [InlineData(16 * 0.35, 8)]
    [InlineData(24 * 0.75, 24)]
    [InlineData(96 * 1.4, 136)]
    [InlineData(320 * 0.5, 160)]
    public void V2Channels_WidthMultiplier_RoundsToMultipleOf8(double channels, int expected)
    {
        Assert.Equal(expected, MobileNetBuilder.V2Channels(channels));
    }

    [Theory]
    [InlineData(MobileNetArchitecture.MobileNetV1, 0.0, 224, 1000, false, "width")]
    [InlineData(MobileNetArchitecture.MobileNetV1, 4.5, 224, 1000, false, "width")]
    [InlineData(MobileNetArchitecture.MobileNetV1, 0.01, 224, 1000, false, "channels")]
    [InlineData(MobileNetArchitecture.MobileNetV1, 1.0, 200, 1000, false, "resolution")]
    [InlineData(MobileNetArchitecture.MobileNetV1, 1.0, 0, 1000, false, "resolution")]
    [InlineData(MobileNetArchitecture.MobileNetV2, 1.0, 224, 0, false, "classes")]
    [InlineData(MobileNetArchitecture.MobileNetV2, 1.0, 224, 1000, true, "full-convolution")]
    public void Build_InvalidSpec_ThrowsNamingTheProblem(MobileNetArchitecture arch, double width, int resolution, int classes, bool fullConv, string expected)
    {
        var spec = new MobileNetSpec(arch, width, resolution, classes, fullConv);

        var ex = Assert.Throws<ArgumentException>(() => MobileNetBuilder.Build(spec, includeWeights: false));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_ModelOver2Gigabytes_ThrowsBeforeAllocatingWeights()
    {
        var spec = new MobileNetSpec(MobileNetArchitecture.MobileNetV1, Width: 4.0, Classes: 100_000, FullConvolution: true);

        var ex = Assert.Throws<ArgumentException>(() => MobileNetBuilder.Build(spec));
        Assert.Contains("2 GB", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(MobileNetArchitecture.MobileNetV1)]
    [InlineData(MobileNetArchitecture.MobileNetV3Small)]
    public void Build_SameSeed_GivesIdenticalBytes(MobileNetArchitecture architecture)
    {
        var spec = new MobileNetSpec(architecture, 0.25, 128, 10, Seed: 7);

        var first = OnnxModelFile.ToBytes(MobileNetBuilder.Build(spec));
        var second = OnnxModelFile.ToBytes(MobileNetBuilder.Build(spec));
        var otherSeed = OnnxModelFile.ToBytes(MobileNetBuilder.Build(spec with { Seed = 8 }));

        Assert.Equal(first, second);
        Assert.NotEqual(first, otherSeed);
    }

    [Fact]
    public void Build_MobileNetV1Quarter128_RunsInOnnxRuntimeGivingProbabilities()
    {
        var analysis = RunBuiltModel(new MobileNetSpec(MobileNetArchitecture.MobileNetV1, 0.25, 128, 1000, Seed: 42), batch: 2);

        Assert.Equal(28, analysis.Layers.Count(l => l.OpType is "Conv" or "Gemm"));
    }

    [Theory]
    [InlineData(MobileNetArchitecture.MobileNetV2, 0.35, 96, 10)]
    [InlineData(MobileNetArchitecture.MobileNetV3Large, 0.75, 224, 1000)]
    [InlineData(MobileNetArchitecture.MobileNetV3Small, 1.0, 224, 1000)]
    public void Build_Model_RunsOneImageInOnnxRuntimeGivingProbabilities(MobileNetArchitecture arch, double width, int resolution, int classes)
    {
        var analysis = RunBuiltModel(new MobileNetSpec(arch, width, resolution, classes, Seed: 3), batch: 1);

        Assert.True(analysis.MultiplyAdds > 0);
    }

    /// <summary>Writes the model, runs a batch of noise through ONNX Runtime, checks every row is a probability
    /// distribution, and returns the analysis of the file as written (read back through OnnxSharp).</summary>
    private static ModelAnalysis RunBuiltModel(MobileNetSpec spec, int batch)
    {
        var path = Path.Combine(Path.GetTempPath(), $"mobilenet-test-{Guid.NewGuid():N}.onnx");
        try
        {
            OnnxModelFile.WriteFile(MobileNetBuilder.Build(spec), path);

            var probabilities = RunBatch(path, batch, spec.Resolution, spec.Classes);

            foreach (var row in probabilities)
            {
                Assert.All(row, p => Assert.True(float.IsFinite(p) && p >= 0 && p <= 1, $"probability {p}"));
                Assert.InRange(row.Sum(), 0.999, 1.001);
            }

            var analysis = ModelAnalyzer.Analyze(OnnxModelFile.ReadFile(path));
            Assert.Empty(analysis.Warnings);
            return analysis;
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static float[][] RunBatch(string modelPath, int batch, int resolution, int classes)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 1 };
        using var session = new InferenceSession(modelPath, options);
        Assert.Equal("input", session.InputNames.Single());
        Assert.Equal("output", session.OutputNames.Single());

        var pixels = new float[batch * 3 * resolution * resolution];
        var state = 12345u;
        for (var i = 0; i < pixels.Length; i++)
        {
            state = (state * 1664525u) + 1013904223u;
            pixels[i] = ((state >> 8) / (float)(1 << 24) * 4f) - 2f;
        }

        using var input = OrtValue.CreateTensorValueFromMemory(pixels, [batch, 3, resolution, resolution]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["input"], [input], ["output"]);
        var shape = outputs[0].GetTensorTypeAndShape().Shape;
        Assert.Equal([batch, classes], shape);
        var flat = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        return [.. Enumerable.Range(0, batch).Select(b => flat.Skip(b * classes).Take(classes).ToArray())];
    }
}
