namespace MobileNet.Inference.Onnx;

/// <summary>ModelProto: the top-level container of an ONNX file (the subset this project reads and writes).</summary>
public sealed class OnnxModel
{
    public long IrVersion { get; set; }

    public string ProducerName { get; set; } = "";

    public string ProducerVersion { get; set; } = "";

    public string Domain { get; set; } = "";

    public long ModelVersion { get; set; }

    public string DocString { get; set; } = "";

    public OnnxGraph Graph { get; set; } = new();

    public List<OnnxOperatorSet> OpsetImports { get; } = [];

    public List<KeyValuePair<string, string>> MetadataProps { get; } = [];

    /// <summary>The opset version imported for <paramref name="domain"/> ("" and "ai.onnx" are the same), or null.</summary>
    public long? OpsetVersion(string domain)
    {
        var wanted = domain is "ai.onnx" ? "" : domain;
        foreach (var opset in OpsetImports)
        {
            var d = opset.Domain is "ai.onnx" ? "" : opset.Domain;
            if (d == wanted)
            {
                return opset.Version;
            }
        }

        return null;
    }
}

/// <summary>OperatorSetIdProto: an imported operator set (domain "" is the default ONNX domain).</summary>
public sealed record OnnxOperatorSet(string Domain, long Version);

/// <summary>GraphProto: nodes in topological order, initializers (weights), and the graph's inputs and outputs.</summary>
public sealed class OnnxGraph
{
    public string Name { get; set; } = "";

    public string DocString { get; set; } = "";

    public List<OnnxNode> Nodes { get; } = [];

    public List<OnnxTensor> Initializers { get; } = [];

    public List<OnnxValueInfo> Inputs { get; } = [];

    public List<OnnxValueInfo> Outputs { get; } = [];

    public List<OnnxValueInfo> ValueInfo { get; } = [];
}

/// <summary>NodeProto: one operator application.</summary>
public sealed class OnnxNode
{
    public string Name { get; set; } = "";

    public string OpType { get; set; } = "";

    /// <summary>Operator domain; "" (or "ai.onnx") is the default ONNX domain.</summary>
    public string Domain { get; set; } = "";

    public string DocString { get; set; } = "";

    /// <summary>Input value names; "" marks an omitted optional input.</summary>
    public List<string> Inputs { get; } = [];

    public List<string> Outputs { get; } = [];

    public List<OnnxAttribute> Attributes { get; } = [];

    public OnnxAttribute? Attribute(string name)
    {
        foreach (var attribute in Attributes)
        {
            if (attribute.Name == name)
            {
                return attribute;
            }
        }

        return null;
    }

    public long GetInt(string name, long defaultValue) => Attribute(name) is { } a ? a.I : defaultValue;

    public float GetFloat(string name, float defaultValue) => Attribute(name) is { } a ? a.F : defaultValue;

    public string GetString(string name, string defaultValue) =>
        Attribute(name) is { } a ? System.Text.Encoding.UTF8.GetString(a.S.Span) : defaultValue;

    public long[]? GetInts(string name) => Attribute(name)?.Ints.ToArray();

    /// <summary>Input <paramref name="index"/>, or null when absent or omitted ("").</summary>
    public string? InputAt(int index) => index < Inputs.Count && Inputs[index].Length > 0 ? Inputs[index] : null;
}

/// <summary>AttributeProto: a named attribute; <see cref="Type"/> says which value field is in use.</summary>
public sealed class OnnxAttribute
{
    public string Name { get; set; } = "";

    public OnnxAttributeType Type { get; set; }

    public string DocString { get; set; } = "";

    public float F { get; set; }

    public long I { get; set; }

    public ReadOnlyMemory<byte> S { get; set; }

    public OnnxTensor? T { get; set; }

    public OnnxGraph? G { get; set; }

    public List<float> Floats { get; } = [];

    public List<long> Ints { get; } = [];

    public List<ReadOnlyMemory<byte>> Strings { get; } = [];

    public List<OnnxTensor> Tensors { get; } = [];

    public List<OnnxGraph> Graphs { get; } = [];

    public static OnnxAttribute Int(string name, long value) => new() { Name = name, Type = OnnxAttributeType.Int, I = value };

    public static OnnxAttribute Float(string name, float value) => new() { Name = name, Type = OnnxAttributeType.Float, F = value };

    public static OnnxAttribute String(string name, string value) =>
        new() { Name = name, Type = OnnxAttributeType.String, S = System.Text.Encoding.UTF8.GetBytes(value) };

    public static OnnxAttribute IntList(string name, params long[] values)
    {
        var attribute = new OnnxAttribute { Name = name, Type = OnnxAttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }
}

/// <summary>ValueInfoProto: a named value and, when it is a tensor, its element type and shape.</summary>
public sealed class OnnxValueInfo
{
    public string Name { get; set; } = "";

    public string DocString { get; set; } = "";

    /// <summary>The tensor type, or null when the value is not a tensor (sequence, map, ...) or has no type.</summary>
    public OnnxTensorType? TensorType { get; set; }

    public static OnnxValueInfo Tensor(string name, OnnxDataType elementType, params OnnxDimension[] shape) =>
        new() { Name = name, TensorType = new OnnxTensorType(elementType, [.. shape]) };
}

/// <summary>TypeProto.Tensor: element type and (optional) shape; a null shape means the rank is unknown.</summary>
public sealed record OnnxTensorType(OnnxDataType ElementType, IReadOnlyList<OnnxDimension>? Shape);

/// <summary>TensorShapeProto.Dimension: a fixed size, a named symbolic size ("batch"), or unknown (both null).</summary>
public readonly record struct OnnxDimension(long? Value, string? Param)
{
    public static OnnxDimension Fixed(long value) => new(value, null);

    public static OnnxDimension Symbolic(string name) => new(null, name);

    public override string ToString() => Value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Param ?? "?";
}
