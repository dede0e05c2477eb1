namespace MobileNet.Inference;

/// <summary>Which library decodes images. Both obey the same <see cref="ImageLimits"/> and return the same typed errors.</summary>
public enum ImageDecoderKind
{
    /// <summary>
    /// SkiaSharp (libjpeg-turbo with DCT scaling, libpng, libwebp, giflib-style GIF, skcms colour management) for every
    /// format it decodes; ImageSharp for TIFF only. The default, in the CLI and in silos.
    /// </summary>
    Skia,

    /// <summary>ImageSharp 2.1.13 for every format, decoding every pixel at full size: kept for comparison (<c>bench --decoder</c>).</summary>
    ImageSharp,
}
