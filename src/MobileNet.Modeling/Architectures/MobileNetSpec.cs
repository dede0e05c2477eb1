using System.Globalization;

namespace MobileNet.Modeling.Architectures;

public enum MobileNetArchitecture
{
    MobileNetV1,
    MobileNetV2,
    MobileNetV3Large,
    MobileNetV3Small,
}

/// <summary>
/// What <see cref="MobileNetBuilder"/> builds: architecture, width multiplier (alpha), square input resolution,
/// number of classes, the V1 "full convolution" variant, and the weight seed.
/// </summary>
public sealed record MobileNetSpec(
    MobileNetArchitecture Architecture,
    double Width = 1.0,
    int Resolution = 224,
    int Classes = 1000,
    bool FullConvolution = false,
    ulong Seed = 1)
{
    public const double MaxWidth = 4.0;
    public const int MinResolution = 32;
    public const int MaxResolution = 1024;
    public const int ResolutionStep = 32;
    public const int MaxClasses = 100_000;

    /// <summary>The CLI spellings of the architectures, as <see cref="TryParseArchitecture"/> takes them.</summary>
    public const string KnownArchitectures = "mobilenet-v1, mobilenet-v2, mobilenet-v3-large or mobilenet-v3-small";

    /// <summary>The CLI spelling of an architecture: "mobilenet-v1", "mobilenet-v2", "mobilenet-v3-large", "mobilenet-v3-small".</summary>
    public static string ArchitectureName(MobileNetArchitecture architecture) => architecture switch
    {
        MobileNetArchitecture.MobileNetV1 => "mobilenet-v1",
        MobileNetArchitecture.MobileNetV2 => "mobilenet-v2",
        MobileNetArchitecture.MobileNetV3Large => "mobilenet-v3-large",
        _ => "mobilenet-v3-small",
    };

    public static bool TryParseArchitecture(string? text, out MobileNetArchitecture architecture)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "mobilenet-v1" or "v1" or "mobilenetv1":
                architecture = MobileNetArchitecture.MobileNetV1;
                return true;
            case "mobilenet-v2" or "v2" or "mobilenetv2":
                architecture = MobileNetArchitecture.MobileNetV2;
                return true;
            case "mobilenet-v3-large" or "v3-large" or "mobilenet_v3_large":
                architecture = MobileNetArchitecture.MobileNetV3Large;
                return true;
            case "mobilenet-v3-small" or "v3-small" or "mobilenet_v3_small":
                architecture = MobileNetArchitecture.MobileNetV3Small;
                return true;
            default:
                architecture = default;
                return false;
        }
    }

    /// <summary>True for MobileNetV3 Large and Small.</summary>
    public bool IsV3 => Architecture is MobileNetArchitecture.MobileNetV3Large or MobileNetArchitecture.MobileNetV3Small;

    /// <summary>A short identifier such as "mobilenet-v1-0.75-224" or "mobilenet-v1-fullconv-1.0-224".</summary>
    public string DisplayName => string.Create(
        CultureInfo.InvariantCulture,
        $"{ArchitectureName(Architecture)}{(FullConvolution ? "-fullconv" : "")}-{Width:0.0##}-{Resolution}");

    /// <summary>Problems with this spec, each a sentence saying what to change; empty when the spec is buildable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!(Width > 0 && Width <= MaxWidth) || double.IsNaN(Width))
        {
            errors.Add($"width must be greater than 0 and at most {MaxWidth} (got {Width.ToString(CultureInfo.InvariantCulture)})");
        }
        else if (Architecture == MobileNetArchitecture.MobileNetV1 && (int)(32 * Width) < 1)
        {
            errors.Add($"width {Width.ToString(CultureInfo.InvariantCulture)} leaves MobileNet V1's first layer with no channels; use at least {1.0 / 32}");
        }

        if (Resolution < MinResolution || Resolution > MaxResolution || Resolution % ResolutionStep != 0)
        {
            errors.Add($"resolution must be a multiple of {ResolutionStep} from {MinResolution} to {MaxResolution} (got {Resolution}): the network halves it five times");
        }

        if (Classes < 1 || Classes > MaxClasses)
        {
            errors.Add($"classes must be from 1 to {MaxClasses} (got {Classes})");
        }

        if (FullConvolution && Architecture != MobileNetArchitecture.MobileNetV1)
        {
            errors.Add("the full-convolution variant exists only for mobilenet-v1");
        }

        return errors;
    }
}
