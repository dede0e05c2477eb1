using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MobileNet.Inference;

/// <summary>Memory layout of the model's image input.</summary>
public enum TensorLayout
{
    /// <summary>[batch, channels, height, width] (PyTorch exports).</summary>
    Nchw,

    /// <summary>[batch, height, width, channels] (TensorFlow exports).</summary>
    Nhwc,
}

/// <summary>Channel order the model expects.</summary>
public enum ChannelOrder
{
    Rgb,
    Bgr,
}

/// <summary>How a photo is brought to the model's input size.</summary>
public enum ResizePolicy
{
    /// <summary>Shorter side to round(size / cropFraction) (bilinear), then a center crop (torchvision Resize + CenterCrop).</summary>
    ShorterSideCenterCrop,

    /// <summary>Resize both sides straight to the input size, ignoring aspect ratio.</summary>
    Stretch,
}

/// <summary>What the model's output vector holds.</summary>
public enum ModelOutputKind
{
    /// <summary>Raw scores: a softmax turns them into probabilities.</summary>
    Logits,

    /// <summary>Already probabilities (the graph ends in Softmax): used as they are.</summary>
    Probabilities,
}

/// <summary>A model description or labels file is missing, malformed or inconsistent with the model.</summary>
public sealed class ModelDescriptionException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>
/// Everything needed to feed a classification model and read its output: tensor names, input size and layout,
/// normalisation, resize policy, labels, and how to read the output. Comes from a JSON sidecar named
/// <c>&lt;model file name&gt;.json</c> beside the model (for <c>model.onnx</c>: <c>model.onnx.json</c>), any field of which may be
/// omitted, with the rest inferred from the ONNX session's input/output metadata. See docs in README "Model sidecar".
/// </summary>
public sealed class ModelDescription
{
    public const int DefaultImageSize = 224;
    public const float DefaultCropFraction = 0.875f;

    /// <summary>Largest model description (sidecar JSON) read: a description is a few hundred bytes.</summary>
    public const int MaxSidecarBytes = 64 * 1024;

    /// <summary>Largest input width or height a description may declare (a 4096 x 4096 float tensor is 192 MiB per image).</summary>
    public const int MaxInputSide = 4096;

    /// <summary>torchvision ImageNet normalisation, the default for NCHW models.</summary>
    public static readonly IReadOnlyList<float> ImageNetMean = [0.485f, 0.456f, 0.406f];

    /// <inheritdoc cref="ImageNetMean"/>
    public static readonly IReadOnlyList<float> ImageNetStd = [0.229f, 0.224f, 0.225f];

    /// <summary>Label file names looked for beside the model, in order, when neither the sidecar nor the caller names one.</summary>
    public static readonly IReadOnlyList<string> DefaultLabelFileNames = ["imagenet_classes.txt", "labels.txt"];

    private static readonly JsonSerializerOptions SidecarJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public required string InputName { get; init; }
    public required string OutputName { get; init; }
    public int Width { get; init; } = DefaultImageSize;
    public int Height { get; init; } = DefaultImageSize;
    public TensorLayout Layout { get; init; } = TensorLayout.Nchw;
    public ChannelOrder ChannelOrder { get; init; } = ChannelOrder.Rgb;
    public IReadOnlyList<float> Mean { get; init; } = ImageNetMean;
    public IReadOnlyList<float> Std { get; init; } = ImageNetStd;

    /// <summary>Multiplies 0..255 pixel values before mean/std: 1/255 maps to 0..1.</summary>
    public float Scale { get; init; } = 1f / 255f;

    public ResizePolicy Resize { get; init; } = ResizePolicy.ShorterSideCenterCrop;

    /// <summary>Center-crop fraction: the shorter side is resized to round(size / CropFraction) (224 / 0.875 = 256).</summary>
    public float CropFraction { get; init; } = DefaultCropFraction;

    public ModelOutputKind Outputs { get; init; } = ModelOutputKind.Logits;

    /// <summary>Leading output entries that are not dataset classes (TensorFlow ImageNet models: 1001 outputs, 0 = background).</summary>
    public int LabelOffset { get; init; }

    /// <summary>Length of the model's output vector, including <see cref="LabelOffset"/> entries.</summary>
    public required int OutputLength { get; init; }

    /// <summary>1 when the model's batch dimension is fixed at 1 (images then run one by one); null when dynamic.</summary>
    public int? FixedBatchSize { get; init; }

    /// <summary>The labels file used, or null when none was found.</summary>
    public string? LabelsPath { get; init; }

    /// <summary>Class names in index order (<see cref="ClassCount"/> of them), or null when no labels file was found.</summary>
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>The model file described, when loaded from one.</summary>
    public string? ModelPath { get; init; }

    /// <summary>The sidecar that was read, or null when everything was inferred.</summary>
    public string? SidecarPath { get; init; }

    public int ClassCount => OutputLength - LabelOffset;

    public int Channels => 3;

    /// <summary>Floats per image in the input tensor.</summary>
    public int TensorLength => Width * Height * Channels;

    /// <summary>The sidecar path for a model: the model path plus <c>.json</c>.</summary>
    public static string SidecarPathFor(string modelPath) => modelPath + ".json";

    /// <summary>
    /// Describes the model at <paramref name="modelPath"/>: reads its sidecar if present, inspects the ONNX metadata for the
    /// rest, finds and checks the labels. Throws <see cref="ModelDescriptionException"/> with what to fix.
    /// </summary>
    public static ModelDescription Load(string modelPath, string? labelsPath = null)
    {
        var fullPath = RequireModelFile(modelPath);
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        InferenceSession session;
        try
        {
            session = new InferenceSession(fullPath, options);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelDescriptionException($"{modelPath}: not a loadable ONNX model: {ex.Message}", ex);
        }

        using (session)
        {
            return FromSession(fullPath, session, labelsPath);
        }
    }

    internal static string RequireModelFile(string modelPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        var fullPath = Path.GetFullPath(modelPath);
        if (!File.Exists(fullPath))
        {
            throw new ModelDescriptionException($"model file not found: {modelPath}");
        }

        return fullPath;
    }

    internal static ModelDescription FromSession(string fullModelPath, InferenceSession session, string? labelsPath)
    {
        var sidecarPath = SidecarPathFor(fullModelPath);
        var sidecar = File.Exists(sidecarPath) ? ReadSidecar(sidecarPath) : null;

        var inputName = sidecar?.Input ?? session.InputMetadata.Keys.FirstOrDefault()
            ?? throw new ModelDescriptionException($"{fullModelPath}: the model has no inputs");
        if (!session.InputMetadata.TryGetValue(inputName, out var input))
        {
            throw new ModelDescriptionException($"{fullModelPath}: no input named '{inputName}' (inputs: {string.Join(", ", session.InputMetadata.Keys)})");
        }

        var outputName = sidecar?.Output ?? session.OutputMetadata.Keys.First();
        if (!session.OutputMetadata.TryGetValue(outputName, out var output))
        {
            throw new ModelDescriptionException($"{fullModelPath}: no output named '{outputName}' (outputs: {string.Join(", ", session.OutputMetadata.Keys)})");
        }

        if (!input.IsTensor || input.ElementDataType != TensorElementType.Float || input.Dimensions.Length != 4)
        {
            throw new ModelDescriptionException($"{fullModelPath}: input '{inputName}' must be a float32 tensor of rank 4 (an image batch), found {Describe(input)}");
        }

        var dims = input.Dimensions;
        var layout = sidecar?.Layout is { } layoutText ? ParseEnum<TensorLayout>(layoutText, "layout", sidecarPath)
            : dims[1] == 3 ? TensorLayout.Nchw
            : dims[3] == 3 ? TensorLayout.Nhwc
            : throw new ModelDescriptionException($"{fullModelPath}: cannot tell the layout of input '{inputName}' {Describe(input)}; write \"layout\": \"nchw\" or \"nhwc\" in {sidecarPath}");
        var (channelDim, heightDim, widthDim) = layout == TensorLayout.Nchw ? (dims[1], dims[2], dims[3]) : (dims[3], dims[1], dims[2]);
        if (channelDim > 0 && channelDim != 3)
        {
            throw new ModelDescriptionException($"{fullModelPath}: input '{inputName}' {Describe(input)} has {channelDim} channels in {layout} layout; only 3-channel images are supported");
        }

        var height = sidecar?.Height ?? (heightDim > 0 ? heightDim : DefaultImageSize);
        var width = sidecar?.Width ?? (widthDim > 0 ? widthDim : DefaultImageSize);
        if ((heightDim > 0 && heightDim != height) || (widthDim > 0 && widthDim != width))
        {
            throw new ModelDescriptionException($"{sidecarPath}: width/height {width}x{height} contradict the model's input {Describe(input)}");
        }

        if (!output.IsTensor || output.ElementDataType != TensorElementType.Float)
        {
            throw new ModelDescriptionException($"{fullModelPath}: output '{outputName}' must be a float32 tensor, found {Describe(output)}");
        }

        var outputLength = output.Dimensions.Skip(1).Aggregate(1L, (a, d) => d > 0 ? a * d : -1);
        if (output.Dimensions.Length < 2 || outputLength <= 1)
        {
            throw new ModelDescriptionException($"{fullModelPath}: output '{outputName}' {Describe(output)} must be [batch, classes] with a fixed class count");
        }

        var looksLikeProbabilities = outputName.Contains("softmax", StringComparison.OrdinalIgnoreCase)
            || outputName.Contains("prob", StringComparison.OrdinalIgnoreCase)
            || outputName.Contains("prediction", StringComparison.OrdinalIgnoreCase);

        // TensorFlow exports are NHWC and normalise to [-1, 1]; PyTorch exports are NCHW with ImageNet mean/std.
        var tfStyle = layout == TensorLayout.Nhwc;
        var resolvedLabelsPath = ResolveLabelsPath(fullModelPath, sidecarPath, sidecar?.Labels, labelsPath);
        var description = new ModelDescription
        {
            ModelPath = fullModelPath,
            SidecarPath = sidecar is null ? null : sidecarPath,
            InputName = inputName,
            OutputName = outputName,
            Width = width,
            Height = height,
            Layout = layout,
            ChannelOrder = sidecar?.ChannelOrder is { } order ? ParseEnum<ChannelOrder>(order, "channelOrder", sidecarPath) : ChannelOrder.Rgb,
            Mean = sidecar?.Mean ?? (tfStyle ? [0.5f, 0.5f, 0.5f] : ImageNetMean),
            Std = sidecar?.Std ?? (tfStyle ? [0.5f, 0.5f, 0.5f] : ImageNetStd),
            Scale = sidecar?.Scale ?? (1f / 255f),
            Resize = sidecar?.Resize is { } resize ? ParseResize(resize, sidecarPath) : ResizePolicy.ShorterSideCenterCrop,
            CropFraction = sidecar?.CropFraction ?? DefaultCropFraction,
            Outputs = sidecar?.Outputs is { } outputs ? ParseEnum<ModelOutputKind>(outputs, "outputs", sidecarPath)
                : looksLikeProbabilities ? ModelOutputKind.Probabilities : ModelOutputKind.Logits,
            LabelOffset = sidecar?.LabelOffset ?? (outputLength == 1001 ? 1 : 0),
            OutputLength = (int)outputLength,
            FixedBatchSize = dims[0] > 0 ? (int)dims[0] : null,
            LabelsPath = resolvedLabelsPath,
        };
        description.Validate();
        return resolvedLabelsPath is null
            ? description
            : CloneWithLabels(description, LoadLabels(resolvedLabelsPath, description.ClassCount));
    }

    /// <summary>Reads a labels file: one class name per line, in class-index order; a trailing newline is allowed.</summary>
    public static IReadOnlyList<string> LoadLabels(string path, int expectedCount)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelDescriptionException($"cannot read labels file {path}: {ex.Message}", ex);
        }

        var count = lines.Length;
        while (count > 0 && lines[count - 1].Length == 0)
        {
            count--;
        }

        if (count != expectedCount)
        {
            throw new ModelDescriptionException($"labels file {path} has {count} lines but the model has {expectedCount} classes");
        }

        for (var i = 0; i < count; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i]))
            {
                throw new ModelDescriptionException($"labels file {path}: line {i + 1} is empty");
            }
        }

        return Array.AsReadOnly(lines[..count]);
    }

    /// <summary>Checks internal consistency; throws <see cref="ModelDescriptionException"/> naming the bad field.</summary>
    public void Validate()
    {
        var where = SidecarPath ?? ModelPath ?? "model description";
        Check(Width is > 0 and <= MaxInputSide && Height is > 0 and <= MaxInputSide, $"width/height must be 1..{MaxInputSide}, got {Width}x{Height}");
        Check(Mean.Count == 3 && Std.Count == 3, "mean and std must have 3 values (one per channel)");
        Check(Std.All(s => float.IsFinite(s) && s != 0f), "std values must be finite and non-zero");
        Check(Mean.All(float.IsFinite), "mean values must be finite");
        Check(float.IsFinite(Scale) && Scale > 0f, "scale must be a positive number");
        Check(CropFraction is > 0f and <= 1f, "cropFraction must be in (0, 1]");
        Check(LabelOffset >= 0 && LabelOffset < OutputLength, $"labelOffset must be 0..{OutputLength - 1}");
        Check(FixedBatchSize is null or 1, $"a fixed batch dimension must be 1 (or dynamic), got {FixedBatchSize}");
        Check(Labels is null || Labels.Count == ClassCount, $"{Labels?.Count} labels for {ClassCount} classes");

        void Check(bool ok, string message)
        {
            if (!ok)
            {
                throw new ModelDescriptionException($"{where}: {message}");
            }
        }
    }

    private static ModelDescription CloneWithLabels(ModelDescription d, IReadOnlyList<string> labels) => new()
    {
        ModelPath = d.ModelPath,
        SidecarPath = d.SidecarPath,
        InputName = d.InputName,
        OutputName = d.OutputName,
        Width = d.Width,
        Height = d.Height,
        Layout = d.Layout,
        ChannelOrder = d.ChannelOrder,
        Mean = d.Mean,
        Std = d.Std,
        Scale = d.Scale,
        Resize = d.Resize,
        CropFraction = d.CropFraction,
        Outputs = d.Outputs,
        LabelOffset = d.LabelOffset,
        OutputLength = d.OutputLength,
        FixedBatchSize = d.FixedBatchSize,
        LabelsPath = d.LabelsPath,
        Labels = labels,
    };

    private static string? ResolveLabelsPath(string modelPath, string sidecarPath, string? fromSidecar, string? explicitPath)
    {
        var modelDirectory = Path.GetDirectoryName(modelPath)!;
        // Checked even when the caller names the labels: a description pointing outside its folder is refused, not ignored.
        var fromSidecarPath = fromSidecar is null ? null : ResolveInsideFolder(modelDirectory, fromSidecar, $"{sidecarPath}: \"labels\"");
        if (explicitPath is not null)
        {
            return File.Exists(explicitPath) ? Path.GetFullPath(explicitPath)
                : throw new ModelDescriptionException($"labels file not found: {explicitPath}");
        }

        if (fromSidecarPath is { } path)
        {
            return File.Exists(path) ? path
                : throw new ModelDescriptionException($"{sidecarPath}: labels file '{fromSidecar}' not found (looked at {path})");
        }

        return DefaultLabelFileNames.Select(name => Path.Combine(modelDirectory, name)).FirstOrDefault(File.Exists);
    }

    /// <summary>
    /// Resolves a file a model description names (its labels) inside the model's own folder: a plain relative path,
    /// no absolute path, no <c>..</c>, no link leading out. A description is data from whoever uploaded the model; it
    /// must not make a silo (or the uploader's CLI) read any other file. Throws <see cref="ModelDescriptionException"/>.
    /// </summary>
    public static string ResolveInsideFolder(string folder, string relativePath, string what)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(what);
        if (string.IsNullOrWhiteSpace(relativePath) || relativePath.Any(char.IsControl))
        {
            throw new ModelDescriptionException($"{what} must name a file in the model's folder");
        }

        if (Path.IsPathRooted(relativePath) || relativePath.Contains(':', StringComparison.Ordinal) || relativePath.Contains('\\', StringComparison.Ordinal))
        {
            throw new ModelDescriptionException($"{what} '{relativePath}' is an absolute path; name a file inside the model's folder (e.g. \"labels.txt\")");
        }

        if (relativePath.Split('/').Any(segment => segment == ".."))
        {
            throw new ModelDescriptionException($"{what} '{relativePath}' leaves the model's folder ('..'); name a file inside it");
        }

        var root = Path.GetFullPath(folder);
        var rootWithSeparator = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        var full = Path.GetFullPath(relativePath, root);
        if (!full.StartsWith(rootWithSeparator, StringComparison.Ordinal))
        {
            throw new ModelDescriptionException($"{what} '{relativePath}' is outside the model's folder");
        }

        // A link inside the folder may still point out of it.
        var info = new FileInfo(full);
        if (info.Exists && info.LinkTarget is not null)
        {
            var target = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName;
            if (target is null || !Path.GetFullPath(target).StartsWith(rootWithSeparator, StringComparison.Ordinal))
            {
                throw new ModelDescriptionException($"{what} '{relativePath}' is a link to a file outside the model's folder");
            }
        }

        return full;
    }

    private static Sidecar ReadSidecar(string path)
    {
        try
        {
            if (new FileInfo(path).Length > MaxSidecarBytes)
            {
                throw new ModelDescriptionException($"{path}: the model description is larger than {MaxSidecarBytes / 1024} KiB; a description holds a few fields");
            }

            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize<Sidecar>(stream, SidecarJson)
                ?? throw new ModelDescriptionException($"{path}: the sidecar must be a JSON object");
        }
        catch (JsonException ex)
        {
            throw new ModelDescriptionException($"{path}: invalid model sidecar: {ex.Message}", ex);
        }
        catch (IOException ex)
        {
            throw new ModelDescriptionException($"{path}: cannot read the model sidecar: {ex.Message}", ex);
        }
    }

    private static T ParseEnum<T>(string value, string field, string sidecarPath)
        where T : struct, Enum =>
        Enum.TryParse<T>(value, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)
            ? parsed
            : throw new ModelDescriptionException($"{sidecarPath}: \"{field}\": \"{value}\" is not one of {string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}");

    private static ResizePolicy ParseResize(string value, string sidecarPath) => value.ToLowerInvariant() switch
    {
        "shorter-side-crop" or "center-crop" => ResizePolicy.ShorterSideCenterCrop,
        "stretch" => ResizePolicy.Stretch,
        _ => throw new ModelDescriptionException($"{sidecarPath}: \"resize\": \"{value}\" is not one of shorter-side-crop, stretch"),
    };

    private static string Describe(NodeMetadata node) =>
        node.IsTensor ? $"{node.ElementDataType}[{string.Join(",", node.Dimensions.Select(d => d > 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?"))}]" : node.OnnxValueType.ToString();

    /// <summary>The JSON sidecar; every field optional.</summary>
    private sealed class Sidecar
    {
        public string? Input { get; set; }
        public string? Output { get; set; }

        /// <summary>Alias of <see cref="Input"/>.</summary>
        public string? InputName { set => Input = value; }

        /// <summary>Alias of <see cref="Output"/>.</summary>
        public string? OutputName { set => Output = value; }

        public int? Width { get; set; }
        public int? Height { get; set; }
        public string? Layout { get; set; }
        public string? ChannelOrder { get; set; }
        public float[]? Mean { get; set; }
        public float[]? Std { get; set; }
        public float? Scale { get; set; }
        public string? Resize { get; set; }
        public float? CropFraction { get; set; }
        public string? Labels { get; set; }
        public string? Outputs { get; set; }
        public int? LabelOffset { get; set; }
    }
}
