using System.Globalization;
using MobileNet.Modeling.Architectures;
using MobileNet.Modeling.Onnx;

namespace MobileNet.Orleans.Testing.Models;

/// <summary>Seeded, untrained MobileNets for tests that need a real architecture but not real labels.</summary>
public static class GeneratedModels
{
    /// <summary>The model's bytes, the same for the same spec and seed.</summary>
    public static byte[] Bytes(MobileNetSpec spec) => OnnxModelFile.ToBytes(MobileNetBuilder.Build(spec));

    /// <summary>A small MobileNetV2 (default width 0.35, 224 px, 1000 classes) with placeholder labels (labels.txt beside it): fast, and its labels mean nothing.</summary>
    public static string WriteV2(string directory, double width = 0.35)
    {
        var path = Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"generated-v2-{width}.onnx"));
        File.WriteAllBytes(path, Bytes(new MobileNetSpec(MobileNetArchitecture.MobileNetV2, Width: width, Resolution: 224, Classes: 1000, Seed: 7)));
        File.WriteAllLines(Path.Combine(directory, "labels.txt"), Enumerable.Range(0, 1000).Select(i => string.Create(CultureInfo.InvariantCulture, $"class-{i:D3}")));
        return path;
    }
}
