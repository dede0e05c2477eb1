namespace MobileNet.Inference;

/// <summary>Tuning for <see cref="LabelingPipeline"/>; validated against the model when the pipeline is created.</summary>
public sealed record LabelingPipelineOptions
{
    /// <summary>Labels kept per image, 1..min(classes, 1000).</summary>
    public int TopK { get; init; } = 5;

    /// <summary>Images per inference call (1..256).</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Images decoded at once (1..cores is sensible; inference uses the cores too).</summary>
    public int DecodeParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Sources opened and read at once (I/O: blobs or files).</summary>
    public int ReadParallelism { get; init; } = 4;

    /// <summary>Bytes read per image at most; a larger image is refused as too-large without reading it all.</summary>
    public long MaxImageBytes { get; init; } = ImageLimits.DefaultMaxBytes;

    internal void Validate(ImageClassifier classifier)
    {
        classifier.ValidateTopK(TopK);
        if (BatchSize is < 1 or > 256)
        {
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "batch size must be 1..256");
        }

        if (DecodeParallelism is < 1 or > 256)
        {
            throw new ArgumentOutOfRangeException(nameof(DecodeParallelism), DecodeParallelism, "decode parallelism must be 1..256");
        }

        if (ReadParallelism is < 1 or > 256)
        {
            throw new ArgumentOutOfRangeException(nameof(ReadParallelism), ReadParallelism, "read parallelism must be 1..256");
        }

        if (MaxImageBytes is < 1 or > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxImageBytes), MaxImageBytes, $"max image bytes must be 1..{int.MaxValue}");
        }
    }
}
