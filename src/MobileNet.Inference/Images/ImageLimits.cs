namespace MobileNet.Inference;

/// <summary>
/// Caps applied to every untrusted image before and during decoding, so that a decompression bomb or an oversized
/// file is refused cheaply (from the header) instead of exhausting memory.
/// </summary>
public sealed record ImageLimits
{
    public const long DefaultMaxBytes = 64L * 1024 * 1024;
    public const long DefaultMaxPixels = 64L * 1000 * 1000;

    public static ImageLimits Default { get; } = new();

    /// <summary>Largest encoded file accepted, in bytes.</summary>
    public long MaxBytes { get; init; } = DefaultMaxBytes;

    /// <summary>Largest width x height accepted, checked from the header before decoding.</summary>
    public long MaxPixels { get; init; } = DefaultMaxPixels;

    /// <summary>Largest single side accepted (a 1 x 60,000,000 image is under the pixel cap but absurd).</summary>
    public int MaxDimension { get; init; } = 32_768;

    /// <summary>
    /// Cap on any one buffer the decoder may allocate, in MB: a last line of defence for headers that understate
    /// what decoding needs. Must cover MaxPixels x 4 bytes (RGBA).
    /// </summary>
    public int DecoderAllocationLimitMegabytes { get; init; } = 320;

    /// <summary>Memory the decoder keeps pooled for reuse between images, in MB.</summary>
    public int DecoderPoolMegabytes { get; init; } = 64;

    internal void Validate()
    {
        if (MaxBytes <= 0 || MaxPixels <= 0 || MaxDimension <= 0 || DecoderAllocationLimitMegabytes <= 0 || DecoderPoolMegabytes < 0)
        {
            throw new ArgumentException($"Image limits must be positive: {this}.");
        }
    }
}
