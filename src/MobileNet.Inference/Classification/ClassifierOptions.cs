namespace MobileNet.Inference;

/// <summary>How <see cref="ImageClassifier.Load"/> sets up a model.</summary>
public sealed record ClassifierOptions
{
    /// <summary>ONNX Runtime intra-op threads; null = the cores this process may use (<see cref="Environment.ProcessorCount"/>, which honours container CPU quotas).</summary>
    public int? IntraOpThreads { get; init; }

    /// <summary>Labels file overriding the sidecar / default lookup (imagenet_classes.txt, labels.txt beside the model).</summary>
    public string? LabelsPath { get; init; }

    /// <summary>
    /// When true, no labels file is needed: classes are named by their index. For benchmarks and label-less models;
    /// <c>classify</c> keeps it false so a missing labels file is an error, not a silently different column.
    /// </summary>
    public bool AllowMissingLabels { get; init; }

    /// <summary>
    /// Use ONNX Runtime's default session options instead of the tuned ones (full graph optimisation, intra-op threads =
    /// cores, no spinning, sequential execution), so benchmarks can compare the two.
    /// </summary>
    public bool UseDefaultRuntimeOptions { get; init; }

    /// <summary>Byte and pixel caps for decoding; null = <see cref="ImageLimits.Default"/>.</summary>
    public ImageLimits? ImageLimits { get; init; }

    /// <summary>Which library decodes images (Skia unless a benchmark compares it with ImageSharp).</summary>
    public ImageDecoderKind Decoder { get; init; } = ImageDecoderKind.Skia;

    internal int ResolvedIntraOpThreads => IntraOpThreads ?? Environment.ProcessorCount;
}
