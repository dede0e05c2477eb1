using System.Globalization;
using MobileNet.Modeling.Onnx;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace MobileNet.Modeling.Architectures;

/// <summary>
/// Builds MobileNet V1 (Howard et al. 2017), V2 (Sandler et al. 2018) and V3 Large/Small (Howard et al. 2019, built
/// by <see cref="MobileNetV3Body"/>) as ONNX graphs with seeded random weights:
/// input "input" float [batch,3,R,R] NCHW, output "output" [batch,classes] softmax probabilities.
/// The weights are untrained: the models are for measuring and exercising the runtime, not for labelling photos.
/// </summary>
public static class MobileNetBuilder
{
    public const string InputName = "input";
    public const string OutputName = "output";
    public const string BatchDimension = "batch";
    public const long IrVersion = 8;
    public const long OpsetVersion = 13;

    /// <summary>V3 models import opset 14, the first with HardSwish; V1 and V2 stay at 13 so their files do not change.</summary>
    public const long V3OpsetVersion = 14;

    /// <summary>Single-file ONNX models are protocol buffers, capped at 2 GiB; stay clear of it.</summary>
    public const long MaxWeightBytes = 2_000_000_000;

    /// <summary>V1 body after the stride-2 stem: (output channels, stride) of the 13 depthwise-separable blocks (Table 1).</summary>
    private static readonly (int Channels, int Stride)[] V1Blocks =
    [
        (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
        (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
    ];

    /// <summary>V2 bottleneck stages (t expansion, c channels, n repeats, s first stride), Table 2 of the V2 paper.</summary>
    private static readonly (int Expansion, int Channels, int Repeats, int Stride)[] V2Stages =
    [
        (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    ];

    /// <summary>Builds the model. With <paramref name="includeWeights"/> false, initializers hold shapes only
    /// (for analysis without allocating weights; such a model cannot be saved).</summary>
    /// <exception cref="ArgumentException">The spec is invalid or the model would exceed the 2 GiB file limit.</exception>
    public static ModelProto Build(MobileNetSpec spec, bool includeWeights = true)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var errors = spec.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(spec));
        }

        var layers = new LayerGraphBuilder(includeWeights: false, spec.Seed);
        BuildGraph(spec, layers);
        var weightBytes = layers.Graph.Initializer.Sum(t => t.ElementCount()) * sizeof(float);
        if (weightBytes > MaxWeightBytes)
        {
            throw new ArgumentException(
                $"{spec.DisplayName} with {spec.Classes} classes would hold {weightBytes / 1e9:0.0} GB of weights, over the 2 GB limit of an ONNX file; lower the width or classes",
                nameof(spec));
        }

        if (includeWeights)
        {
            layers = new LayerGraphBuilder(includeWeights: true, spec.Seed);
            BuildGraph(spec, layers);
        }

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "MobileNet.Orleans",
            ProducerVersion = typeof(MobileNetBuilder).Assembly.GetName().Version?.ToString() ?? "",
            DocString = $"{spec.DisplayName}, {spec.Classes} classes, seeded random (untrained) weights, seed {spec.Seed}",
            Graph = layers.Graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = spec.IsV3 ? V3OpsetVersion : OpsetVersion });
        AddMetadata(model, "mobilenet.architecture", MobileNetSpec.ArchitectureName(spec.Architecture));
        AddMetadata(model, "mobilenet.width", spec.Width.ToString(CultureInfo.InvariantCulture));
        AddMetadata(model, "mobilenet.resolution", spec.Resolution.ToString(CultureInfo.InvariantCulture));
        AddMetadata(model, "mobilenet.classes", spec.Classes.ToString(CultureInfo.InvariantCulture));
        AddMetadata(model, "mobilenet.full_convolution", spec.FullConvolution ? "true" : "false");
        AddMetadata(model, "mobilenet.seed", spec.Seed.ToString(CultureInfo.InvariantCulture));
        AddMetadata(model, "mobilenet.output", "probabilities");
        return model;
    }

    /// <summary>V1 channel count under width multiplier alpha: int(c * alpha), as in the V1 paper (at least 1).</summary>
    public static int V1Channels(int channels, double width) => Math.Max(1, (int)(channels * width));

    /// <summary>V2 channel count: c * alpha rounded to the nearest multiple of 8, never more than 10% below it.</summary>
    public static int V2Channels(double channels, int divisor = 8)
    {
        var rounded = Math.Max(divisor, (int)(channels + (divisor / 2.0)) / divisor * divisor);
        return rounded < 0.9 * channels ? rounded + divisor : rounded;
    }

    private static void AddMetadata(ModelProto model, string key, string value) =>
        model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });

    private static void BuildGraph(MobileNetSpec spec, LayerGraphBuilder layers)
    {
        var graph = layers.Graph;
        graph.Name = spec.DisplayName;
        graph.Input.Add(OnnxProtos.TensorValue(InputName, DataType.Float, BatchDimension, 3L, (long)spec.Resolution, (long)spec.Resolution));
        graph.Output.Add(OnnxProtos.TensorValue(OutputName, DataType.Float, BatchDimension, (long)spec.Classes));

        var (features, channels) = spec.Architecture switch
        {
            MobileNetArchitecture.MobileNetV1 => BuildV1Body(spec, layers),
            MobileNetArchitecture.MobileNetV2 => BuildV2Body(spec, layers),
            _ => MobileNetV3Body.Build(spec, layers),
        };

        // V3's "efficient last stage" pools before its last 1x1 convolution, so its body comes out pooled.
        var pooled = spec.IsV3 ? features : layers.GlobalAveragePool("pool", features);
        var flat = layers.Flatten("flatten", pooled);
        var logits = layers.FullyConnected("fc", flat, channels, spec.Classes);
        layers.Softmax("softmax", logits, OutputName);
    }

    private static (string Output, int Channels) BuildV1Body(MobileNetSpec spec, LayerGraphBuilder layers)
    {
        var inChannels = V1Channels(32, spec.Width);
        var x = ConvBnAct(layers, "conv1", InputName, 3, inChannels, 3, 2, Activation.Relu);
        for (var i = 0; i < V1Blocks.Length; i++)
        {
            var (channels, stride) = V1Blocks[i];
            var outChannels = V1Channels(channels, spec.Width);
            var block = i + 1;
            if (spec.FullConvolution)
            {
                // The paper's Table 4 baseline: one standard 3x3 convolution in place of depthwise + pointwise.
                x = ConvBnAct(layers, $"conv_full_{block}", x, inChannels, outChannels, 3, stride, Activation.Relu);
            }
            else
            {
                x = ConvBnAct(layers, $"conv_dw_{block}", x, inChannels, inChannels, 3, stride, Activation.Relu, group: inChannels);
                x = ConvBnAct(layers, $"conv_pw_{block}", x, inChannels, outChannels, 1, 1, Activation.Relu);
            }

            inChannels = outChannels;
        }

        return (x, inChannels);
    }

    private static (string Output, int Channels) BuildV2Body(MobileNetSpec spec, LayerGraphBuilder layers)
    {
        var inChannels = V2Channels(32 * spec.Width);
        var x = ConvBnAct(layers, "conv1", InputName, 3, inChannels, 3, 2, Activation.Relu6);
        var block = 0;
        foreach (var (expansion, channels, repeats, firstStride) in V2Stages)
        {
            var outChannels = V2Channels(channels * spec.Width);
            for (var r = 0; r < repeats; r++)
            {
                var stride = r == 0 ? firstStride : 1;
                var name = $"block_{block}";
                var hidden = inChannels * expansion;
                var y = x;
                if (expansion != 1)
                {
                    y = ConvBnAct(layers, $"{name}_expand", y, inChannels, hidden, 1, 1, Activation.Relu6);
                }

                y = ConvBnAct(layers, $"{name}_depthwise", y, hidden, hidden, 3, stride, Activation.Relu6, group: hidden);

                // Linear bottleneck: no activation after the projection.
                y = layers.Conv($"{name}_project", y, hidden, outChannels, 1, 1);
                y = layers.BatchNorm($"{name}_project_bn", y, outChannels);
                if (stride == 1 && inChannels == outChannels)
                {
                    y = layers.Add($"{name}_add", x, y);
                }

                x = y;
                inChannels = outChannels;
                block++;
            }
        }

        // The V2 paper keeps the last layer at 1280 channels for multipliers below one.
        var lastChannels = spec.Width > 1.0 ? V2Channels(1280 * spec.Width) : 1280;
        x = ConvBnAct(layers, "conv_last", x, inChannels, lastChannels, 1, 1, Activation.Relu6);
        return (x, lastChannels);
    }

    /// <summary>Convolution, batch norm and activation: the unit every MobileNet is made of.</summary>
    internal static string ConvBnAct(
        LayerGraphBuilder layers, string name, string input, int inChannels, int outChannels, int kernel, int stride, Activation activation, int group = 1)
    {
        var x = layers.Conv(name, input, inChannels, outChannels, kernel, stride, group);
        x = layers.BatchNorm($"{name}_bn", x, outChannels);
        return activation switch
        {
            Activation.Relu6 => layers.Relu6($"{name}_relu", x),
            Activation.HardSwish => layers.HardSwish($"{name}_hswish", x),
            _ => layers.Relu($"{name}_relu", x),
        };
    }
}

/// <summary>The nonlinearity after a convolution: ReLU (V1, V3's early blocks), ReLU6 (V2), h-swish (V3).</summary>
internal enum Activation
{
    Relu,
    Relu6,
    HardSwish,
}
