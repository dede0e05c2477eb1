using System.CommandLine;
using System.Globalization;
using MobileNet.Modeling.Analysis;
using MobileNet.Modeling.Architectures;

namespace MobileNet.Orleans.Client.Commands;

/// <summary>
/// <c>mobilenet models build --arch mobilenet-v1|mobilenet-v2|mobilenet-v3-large|mobilenet-v3-small -o model.onnx</c>: writes a MobileNet with seeded random
/// weights, plus its sidecar and a class_N labels file, for exercising the pipeline and measuring the architecture.
/// </summary>
public static class ModelsBuildCommand
{
    public static Command Create()
    {
        var arch = new Option<string>("--arch", "-a") { Description = MobileNetSpec.KnownArchitectures, Required = true };
        var width = new Option<double>("--width", "-w")
        {
            Description = $"width multiplier alpha, in (0, {MobileNetSpec.MaxWidth}]",
            DefaultValueFactory = _ => 1.0,
        };
        var resolution = new Option<int>("--resolution", "-r")
        {
            Description = $"input height and width: a multiple of {MobileNetSpec.ResolutionStep} from {MobileNetSpec.MinResolution} to {MobileNetSpec.MaxResolution}",
            DefaultValueFactory = _ => 224,
        };
        var classes = new Option<int>("--classes") { Description = $"number of output classes (1..{MobileNetSpec.MaxClasses})", DefaultValueFactory = _ => 1000 };
        var fullConv = new Option<bool>("--full-conv") { Description = "mobilenet-v1 only: standard 3x3 convolutions instead of depthwise-separable blocks" };
        var seed = new Option<ulong>("--seed") { Description = "seed of the random weights (same seed, same bytes)", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--output", "-o") { Description = "ONNX file to write (its sidecar and labels go beside it)", Required = true };
        var command = new Command("build", "Build a MobileNet V1/V2/V3 ONNX model with seeded random (untrained) weights.")
        {
            arch, width, resolution, classes, fullConv, seed, output,
        };
        command.SetAction(async (ParseResult parse, CancellationToken ct) =>
        {
            var archText = parse.GetValue(arch);
            if (!MobileNetSpec.TryParseArchitecture(archText, out var architecture))
            {
                throw new CliUsageException($"--arch '{archText}' is not known: use {MobileNetSpec.KnownArchitectures}");
            }

            var spec = new MobileNetSpec(
                architecture, parse.GetValue(width), parse.GetValue(resolution), parse.GetValue(classes), parse.GetValue(fullConv), parse.GetValue(seed));
            var errors = spec.Validate();
            if (errors.Count > 0)
            {
                throw new CliUsageException(string.Join("; ", errors));
            }

            var path = parse.GetValue(output)!;
            if (Directory.Exists(path))
            {
                throw new CliUsageException($"--output '{path}' is a directory: give a file name such as {Path.Combine(path, spec.DisplayName + ".onnx")}");
            }

            GeneratedModel files;
            try
            {
                files = GeneratedModelFiles.Write(spec, path);
            }
            catch (ArgumentException ex)
            {
                throw new CliUsageException(ex.Message);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CliUsageException($"cannot write {path}: {ex.Message}");
            }

            // Figures from the shape-only graph: the same counts `models inspect` gives for the file.
            var analysis = ModelAnalyzer.Analyze(MobileNetBuilder.Build(spec, includeWeights: false));
            await parse.InvocationConfiguration.Output.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"wrote {files.ModelPath} ({spec.DisplayName}, {spec.Classes} classes, seed {spec.Seed}): {analysis.Parameters:N0} parameters, {analysis.MultiplyAdds:N0} multiply-adds, {files.ModelBytes:N0} bytes"));
            await parse.InvocationConfiguration.Error.WriteLineAsync(
                $"sidecar {files.SidecarPath}, labels {files.LabelsPath} (weights are random: the labels are placeholders)");
            return ExitCodes.Success;
        });
        return command;
    }
}
