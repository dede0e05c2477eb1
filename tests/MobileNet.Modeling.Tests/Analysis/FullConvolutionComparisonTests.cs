using MobileNet.Modeling.Analysis;
using MobileNet.Modeling.Architectures;

namespace MobileNet.Modeling.Tests.Analysis;

public sealed class FullConvolutionComparisonTests
{
    [Fact]
    public void Of_MobileNetV1_EachBlockMatchesTheFormulaAndAllAre8To9TimesCheaper()
    {
        var model = MobileNetBuilder.Build(new MobileNetSpec(MobileNetArchitecture.MobileNetV1), includeWeights: false);

        var comparison = FullConvolutionComparison.Of(model);

        Assert.Equal(13, comparison.Blocks.Count);
        Assert.All(comparison.Blocks, b =>
        {
            Assert.Equal(3, b.Kernel);
            Assert.Equal(b.Formula, b.Ratio, 1e-12);
            Assert.InRange(b.TimesCheaper, 7.8, 9.0);
        });
        // The paper's section 3.1: "8 to 9 times less computation than standard convolutions".
        Assert.InRange(comparison.TimesCheaper, 8.0, 9.0);
        var first = comparison.Blocks[0];
        Assert.Equal(("conv_dw_1", "conv_pw_1", 32L, 64L), (first.Depthwise, first.Pointwise, first.InputChannels, first.OutputChannels));
        // 3*3*32*112*112 + 32*64*112*112 against 3*3*32*64*112*112.
        Assert.Equal((9L * 32 * 112 * 112) + (32L * 64 * 112 * 112), first.SeparableMultiplyAdds);
        Assert.Equal(9L * 32 * 64 * 112 * 112, first.FullConvolutionMultiplyAdds);
    }

    [Fact]
    public void Of_MobileNetV1_SeparableTotalIsTheModelsBlockMultiplyAdds()
    {
        var model = MobileNetBuilder.Build(new MobileNetSpec(MobileNetArchitecture.MobileNetV1), includeWeights: false);
        var analysis = ModelAnalyzer.Analyze(model);

        var comparison = FullConvolutionComparison.Of(model);

        var blockLayers = analysis.Layers.Where(l => l.Name.StartsWith("conv_dw_", StringComparison.Ordinal) || l.Name.StartsWith("conv_pw_", StringComparison.Ordinal));
        Assert.Equal(blockLayers.Sum(l => l.MultiplyAdds), comparison.SeparableMultiplyAdds);
    }

    [Fact]
    public void Of_MobileNetV3Large_FollowsThroughSqueezeExcitationTo5x5Blocks()
    {
        var model = MobileNetBuilder.Build(new MobileNetSpec(MobileNetArchitecture.MobileNetV3Large), includeWeights: false);

        var comparison = FullConvolutionComparison.Of(model);

        // All 15 bneck blocks; the 5x5 ones (SE between depthwise and projection) are (1/N + 1/25) of a full conv.
        Assert.Equal(15, comparison.Blocks.Count);
        Assert.Equal(6, comparison.Blocks.Count(b => b.Kernel == 5));
        Assert.Contains(comparison.Blocks, b => b.Depthwise == "block_3_depthwise" && b.Pointwise == "block_3_project" && b.Kernel == 5);
        Assert.All(comparison.Blocks, b => Assert.Equal(b.Formula, b.Ratio, 1e-12));
    }

    [Fact]
    public void Of_FullConvolutionV1_HasNoSeparableBlocks()
    {
        var model = MobileNetBuilder.Build(new MobileNetSpec(MobileNetArchitecture.MobileNetV1, FullConvolution: true), includeWeights: false);

        var comparison = FullConvolutionComparison.Of(model);

        Assert.Empty(comparison.Blocks);
        Assert.Equal(0, comparison.TimesCheaper);
    }
}
