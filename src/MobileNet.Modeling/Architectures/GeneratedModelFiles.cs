using System.Globalization;
using System.Text;
using System.Text.Json;
using MobileNet.Inference;
using MobileNet.Inference.Files;
using MobileNet.Modeling.Onnx;

namespace MobileNet.Modeling.Architectures;

/// <summary>The files <see cref="GeneratedModelFiles.Write"/> produced.</summary>
public sealed record GeneratedModel(string ModelPath, string SidecarPath, string LabelsPath, long ModelBytes);

/// <summary>
/// Writes a built MobileNet with what the classifier needs to use it: the model, its sidecar
/// (<see cref="ModelDescription.SidecarPathFor"/>: input/output names, size, NCHW layout, outputs already
/// probabilities) and a labels file "class_0".."class_{N-1}", since seeded random weights have no meaningful classes.
/// </summary>
public static class GeneratedModelFiles
{
    /// <summary>The labels file written beside a generated model: <c>model.onnx</c> gets <c>model.labels.txt</c>.</summary>
    public static string LabelsPathFor(string modelPath) => Path.ChangeExtension(modelPath, ".labels.txt");

    /// <exception cref="ArgumentException">The spec is invalid or the model would be too large.</exception>
    public static GeneratedModel Write(MobileNetSpec spec, string modelPath)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        var fullPath = Path.GetFullPath(modelPath);
        var model = MobileNetBuilder.Build(spec);
        OnnxModelFile.WriteFile(model, fullPath);

        var labelsPath = LabelsPathFor(fullPath);
        var labels = new StringBuilder();
        for (var i = 0; i < spec.Classes; i++)
        {
            labels.Append(CultureInfo.InvariantCulture, $"class_{i}\n");
        }

        AtomicFile.WriteAllBytes(labelsPath, Encoding.UTF8.GetBytes(labels.ToString()));
        var sidecarPath = ModelDescription.SidecarPathFor(fullPath);
        AtomicFile.WriteAllBytes(sidecarPath, Sidecar(spec, Path.GetFileName(labelsPath)));
        return new GeneratedModel(fullPath, sidecarPath, labelsPath, new FileInfo(fullPath).Length);
    }

    /// <summary>The sidecar JSON, in the fields <see cref="ModelDescription"/> reads.</summary>
    public static byte[] Sidecar(MobileNetSpec spec, string labelsFileName)
    {
        ArgumentNullException.ThrowIfNull(spec);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("input", MobileNetBuilder.InputName);
            json.WriteString("output", MobileNetBuilder.OutputName);
            json.WriteNumber("width", spec.Resolution);
            json.WriteNumber("height", spec.Resolution);
            json.WriteString("layout", "nchw");
            json.WriteString("channelOrder", "rgb");
            json.WriteString("outputs", "probabilities");
            json.WriteString("labels", labelsFileName);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
