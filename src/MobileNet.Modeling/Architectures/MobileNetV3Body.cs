namespace MobileNet.Modeling.Architectures;

/// <summary>
/// MobileNetV3 Large and Small (Howard et al. 2019, "Searching for MobileNetV3", Tables 1 and 2): inverted residual
/// blocks with 3x3 or 5x5 depthwise convolutions, squeeze-and-excitation and h-swish, and the "efficient last stage"
/// (1x1 conv, pooling, then a 1x1 conv without batch norm to 1280 or 1024 channels). Details the tables leave open
/// follow the reference implementations (TF-slim mobilenet_v3.py, Keras applications mobilenet_v3.py), whose
/// rules reproduce the paper's Table 3 figures for the 0.75 models as well (docs/MODELS.md):
/// <list type="bullet">
/// <item>output channels are make_divisible(c * width, 8) (<see cref="MobileNetBuilder.V2Channels"/>);</item>
/// <item>an expansion is a factor of the block's actual input channels: make_divisible(in * exp / in_table, 8),
/// which is the table's size at width 1 (torchvision's make_divisible(exp * width, 8) differs below 1 and misses
/// the paper's 0.75 figures by 10%);</item>
/// <item>the last 1x1 conv has 6x the last block's channels; the 1280/1024 head keeps its size for widths up to 1
/// and grows above (as MobileNetV2's 1280 does);</item>
/// <item>SE squeezes to make_divisible(expanded / 4, 8) channels through two biased 1x1 convs, ReLU between and
/// h-sigmoid after; Small's 576-channel conv has no SE although Table 2 marks one.</item>
/// </list>
/// </summary>
internal static class MobileNetV3Body
{
    /// <summary>One bneck row of the paper's tables: kernel, expansion size, output channels, SE, h-swish, stride.</summary>
    private readonly record struct Bneck(int Kernel, int Expansion, int Channels, bool SqueezeExcite, bool HardSwish, int Stride);

    /// <summary>Table 1: MobileNetV3-Large.</summary>
    private static readonly Bneck[] Large =
    [
        new(3, 16, 16, false, false, 1),
        new(3, 64, 24, false, false, 2),
        new(3, 72, 24, false, false, 1),
        new(5, 72, 40, true, false, 2),
        new(5, 120, 40, true, false, 1),
        new(5, 120, 40, true, false, 1),
        new(3, 240, 80, false, true, 2),
        new(3, 200, 80, false, true, 1),
        new(3, 184, 80, false, true, 1),
        new(3, 184, 80, false, true, 1),
        new(3, 480, 112, true, true, 1),
        new(3, 672, 112, true, true, 1),
        new(5, 672, 160, true, true, 2),
        new(5, 960, 160, true, true, 1),
        new(5, 960, 160, true, true, 1),
    ];

    /// <summary>Table 2: MobileNetV3-Small.</summary>
    private static readonly Bneck[] Small =
    [
        new(3, 16, 16, true, false, 2),
        new(3, 72, 24, false, false, 2),
        new(3, 88, 24, false, false, 1),
        new(5, 96, 40, true, true, 2),
        new(5, 240, 40, true, true, 1),
        new(5, 240, 40, true, true, 1),
        new(5, 120, 48, true, true, 1),
        new(5, 144, 48, true, true, 1),
        new(5, 288, 96, true, true, 2),
        new(5, 576, 96, true, true, 1),
        new(5, 576, 96, true, true, 1),
    ];

    /// <summary>Stem, blocks and last stage; returns the pooled [batch, head, 1, 1] features and their channels.</summary>
    public static (string Output, int Channels) Build(MobileNetSpec spec, LayerGraphBuilder layers)
    {
        var large = spec.Architecture == MobileNetArchitecture.MobileNetV3Large;
        var blocks = large ? Large : Small;
        int Scale(int channels) => MobileNetBuilder.V2Channels(channels * spec.Width);

        var inChannels = Scale(16);
        var tableInChannels = 16;
        var x = MobileNetBuilder.ConvBnAct(layers, "conv1", MobileNetBuilder.InputName, 3, inChannels, 3, 2, Activation.HardSwish);
        for (var i = 0; i < blocks.Length; i++)
        {
            var b = blocks[i];
            var name = $"block_{i}";
            var expanded = MobileNetBuilder.V2Channels(inChannels * (double)b.Expansion / tableInChannels);
            tableInChannels = b.Channels;
            var outChannels = Scale(b.Channels);
            var activation = b.HardSwish ? Activation.HardSwish : Activation.Relu;
            var y = x;
            if (expanded != inChannels)
            {
                y = MobileNetBuilder.ConvBnAct(layers, $"{name}_expand", y, inChannels, expanded, 1, 1, activation);
            }

            y = MobileNetBuilder.ConvBnAct(layers, $"{name}_depthwise", y, expanded, expanded, b.Kernel, b.Stride, activation, group: expanded);
            if (b.SqueezeExcite)
            {
                y = SqueezeExcite(layers, $"{name}_se", y, expanded);
            }

            // Linear bottleneck, as in V2: no activation after the projection.
            y = layers.Conv($"{name}_project", y, expanded, outChannels, 1, 1);
            y = layers.BatchNorm($"{name}_project_bn", y, outChannels);
            if (b.Stride == 1 && inChannels == outChannels)
            {
                y = layers.Add($"{name}_add", x, y);
            }

            x = y;
            inChannels = outChannels;
        }

        var lastConv = 6 * inChannels;
        x = MobileNetBuilder.ConvBnAct(layers, "conv_last", x, inChannels, lastConv, 1, 1, Activation.HardSwish);
        x = layers.GlobalAveragePool("pool", x);

        // The head: a 1x1 conv with bias and no batch norm ("NBN" in the tables), on the pooled 1x1 features.
        var head = large ? 1280 : 1024;
        head = spec.Width > 1.0 ? Scale(head) : head;
        x = layers.Conv("conv_head", x, lastConv, head, 1, 1, bias: true);
        x = layers.HardSwish("conv_head_hswish", x);
        return (x, head);
    }

    /// <summary>Squeeze-and-excitation: pool, 1x1 conv to make_divisible(c / 4, 8), ReLU, 1x1 conv back, h-sigmoid, scale.</summary>
    private static string SqueezeExcite(LayerGraphBuilder layers, string name, string input, int channels)
    {
        var squeezed = MobileNetBuilder.V2Channels(channels / 4);
        var s = layers.GlobalAveragePool($"{name}_pool", input);
        s = layers.Conv($"{name}_reduce", s, channels, squeezed, 1, 1, bias: true);
        s = layers.Relu($"{name}_relu", s);
        s = layers.Conv($"{name}_expand", s, squeezed, channels, 1, 1, bias: true);
        s = layers.HardSigmoid($"{name}_gate", s);
        return layers.Mul($"{name}_scale", input, s);
    }
}
