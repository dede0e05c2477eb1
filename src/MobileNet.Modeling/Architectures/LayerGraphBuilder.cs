using MobileNet.Modeling.Onnx;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace MobileNet.Modeling.Architectures;

/// <summary>
/// Appends conv/BN/activation layers to an ONNX graph with seeded weights. With <c>includeWeights: false</c> the
/// initializers carry only their shapes: enough to analyze a model without allocating its weights, not to save it.
/// </summary>
internal sealed class LayerGraphBuilder(bool includeWeights, ulong seed)
{
    private const string Relu6Min = "relu6_min";
    private const string Relu6Max = "relu6_max";
    private readonly SeededWeights _weights = new(seed);
    private bool _hasRelu6Bounds;

    public GraphProto Graph { get; } = new();

    /// <summary>Convolution with symmetric padding k/2 ("same" for odd kernels); no bias unless asked, as BN follows.</summary>
    public string Conv(string name, string input, int inChannels, int outChannels, int kernel, int stride, int group = 1, bool bias = false)
    {
        var fanIn = (long)(inChannels / group) * kernel * kernel;
        var weight = AddWeight($"{name}.weight", [outChannels, inChannels / group, kernel, kernel], fanIn, gain: 2.0);
        string[] inputs = bias ? [input, weight, AddTensor($"{name}.bias", [outChannels], () => new float[outChannels])] : [input, weight];
        var pad = kernel / 2;
        var node = Node("Conv", name, inputs);
        node.Attribute.Add(OnnxProtos.Ints("kernel_shape", kernel, kernel));
        node.Attribute.Add(OnnxProtos.Ints("strides", stride, stride));
        node.Attribute.Add(OnnxProtos.Ints("pads", pad, pad, pad, pad));
        node.Attribute.Add(OnnxProtos.Ints("dilations", 1, 1));
        node.Attribute.Add(OnnxProtos.Int("group", group));
        return node.Output[0];
    }

    /// <summary>Inference-mode batch normalization with sane statistics (scale near 1, variance near 1).</summary>
    public string BatchNorm(string name, string input, int channels)
    {
        var scale = AddTensor($"{name}.scale", [channels], () => _weights.Uniform(channels, 0.9, 1.1));
        var bias = AddTensor($"{name}.bias", [channels], () => _weights.Uniform(channels, -0.05, 0.05));
        var mean = AddTensor($"{name}.mean", [channels], () => _weights.Uniform(channels, -0.05, 0.05));
        var variance = AddTensor($"{name}.var", [channels], () => _weights.Uniform(channels, 0.9, 1.1));
        var node = Node("BatchNormalization", name, [input, scale, bias, mean, variance]);
        node.Attribute.Add(OnnxProtos.Float("epsilon", 1e-5f));
        return node.Output[0];
    }

    public string Relu(string name, string input) => Node("Relu", name, [input]).Output[0];

    /// <summary>ReLU6 as Clip(x, 0, 6): the bounds are shared scalar initializers (constants, not parameters).</summary>
    public string Relu6(string name, string input)
    {
        if (!_hasRelu6Bounds)
        {
            Graph.Initializer.Add(OnnxProtos.FloatTensor(Relu6Min, [], [0f]));
            Graph.Initializer.Add(OnnxProtos.FloatTensor(Relu6Max, [], [6f]));
            _hasRelu6Bounds = true;
        }

        return Node("Clip", name, [input, Relu6Min, Relu6Max]).Output[0];
    }

    /// <summary>h-swish(x) = x * ReLU6(x + 3) / 6 (MobileNetV3 section 5.2), the opset-14 HardSwish operator.</summary>
    public string HardSwish(string name, string input) => Node("HardSwish", name, [input]).Output[0];

    /// <summary>h-sigmoid(x) = ReLU6(x + 3) / 6: HardSigmoid with alpha 1/6 and beta 0.5, as the V3 reference code gates SE.</summary>
    public string HardSigmoid(string name, string input)
    {
        var node = Node("HardSigmoid", name, [input]);
        node.Attribute.Add(OnnxProtos.Float("alpha", 1f / 6));
        node.Attribute.Add(OnnxProtos.Float("beta", 0.5f));
        return node.Output[0];
    }

    public string Add(string name, string a, string b) => Node("Add", name, [a, b]).Output[0];

    public string Mul(string name, string a, string b) => Node("Mul", name, [a, b]).Output[0];

    public string GlobalAveragePool(string name, string input) => Node("GlobalAveragePool", name, [input]).Output[0];

    public string Flatten(string name, string input)
    {
        var node = Node("Flatten", name, [input]);
        node.Attribute.Add(OnnxProtos.Int("axis", 1));
        return node.Output[0];
    }

    /// <summary>Fully connected layer y = x W^T + b (Gemm with transB), Xavier-scaled weights, zero bias.</summary>
    public string FullyConnected(string name, string input, int inFeatures, int outFeatures)
    {
        var weight = AddWeight($"{name}.weight", [outFeatures, inFeatures], inFeatures, gain: 1.0);
        var bias = AddTensor($"{name}.bias", [outFeatures], () => new float[outFeatures]);
        var node = Node("Gemm", name, [input, weight, bias]);
        node.Attribute.Add(OnnxProtos.Int("transB", 1));
        return node.Output[0];
    }

    public string Softmax(string name, string input, string output)
    {
        var node = Node("Softmax", name, [input], output);
        node.Attribute.Add(OnnxProtos.Int("axis", 1));
        return node.Output[0];
    }

    private NodeProto Node(string opType, string name, string[] inputs, string? output = null)
    {
        var node = OnnxProtos.Node(opType, name, inputs, output ?? name);
        Graph.Node.Add(node);
        return node;
    }

    /// <summary>He/Xavier-style normal init: std = sqrt(gain / fan_in) keeps activations at a steady scale through depth.</summary>
    private string AddWeight(string name, long[] dims, long fanIn, double gain)
    {
        var count = dims.Aggregate(1L, (a, b) => checked(a * b));
        return AddTensor(name, dims, () => _weights.Normal(count, Math.Sqrt(gain / fanIn)));
    }

    private string AddTensor(string name, long[] dims, Func<float[]> values)
    {
        Graph.Initializer.Add(includeWeights
            ? OnnxProtos.FloatTensor(name, dims, values())
            : OnnxProtos.ShapeOnlyTensor(name, DataType.Float, dims));
        return name;
    }
}
