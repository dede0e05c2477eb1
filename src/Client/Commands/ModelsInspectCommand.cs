using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MobileNet.Modeling.Analysis;
using MobileNet.Modeling.Onnx;
using Onnx;

namespace MobileNet.Orleans.Client.Commands;

/// <summary>
/// <c>mobilenet models inspect model.onnx [--json]</c>: inputs, outputs, parameters, multiply-adds and a per-layer
/// table of any ONNX model (counting rules: <see cref="ModelAnalysis"/>, docs/MODELS.md).
/// </summary>
public static class ModelsInspectCommand
{
    private static readonly JsonSerializerOptions ComparisonJson = new(JsonSerializerDefaults.Web);

    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "the ONNX model file" };
        var json = new Option<bool>("--json") { Description = "print one JSON object instead of the table" };
        var compare = new Option<bool>("--compare-full-conv")
        {
            Description = "also price each depthwise-separable block against a full convolution (ratio next to 1/N + 1/K^2)",
        };
        var command = new Command("inspect", "Show a model's inputs, outputs, parameters, multiply-adds and layers.") { model, json, compare };
        command.SetAction(async (ParseResult parse, CancellationToken ct) =>
        {
            var path = parse.GetValue(model)!;
            var (onnx, analysis) = Load(path);
            var comparison = parse.GetValue(compare) ? FullConvolutionComparison.Of(onnx) : null;
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                await output.WriteLineAsync(ToJson(path, onnx, analysis, comparison));
            }
            else
            {
                await output.WriteAsync(ToText(path, onnx, analysis));
                if (comparison is not null)
                {
                    await output.WriteAsync(FullConvolutionText(comparison));
                }
            }

            foreach (var warning in analysis.Warnings)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"warning: {warning}");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Reads and analyzes the model; a missing, unreadable or malformed file is bad input (exit 2).</summary>
    public static (ModelProto Model, ModelAnalysis Analysis) Load(string path)
    {
        try
        {
            var onnx = OnnxModelFile.ReadFile(path);
            return (onnx, ModelAnalyzer.Analyze(onnx));
        }
        catch (FileNotFoundException)
        {
            throw new CliUsageException($"model file not found: {path}");
        }
        catch (OnnxFormatException ex)
        {
            throw new CliUsageException($"{path}: {ex.Message}");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliUsageException($"cannot read {path}: {ex.Message}");
        }
    }

    public static string ToText(string path, ModelProto model, ModelAnalysis analysis)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(analysis);
        var c = CultureInfo.InvariantCulture;
        var text = new System.Text.StringBuilder();
        var opsets = string.Join(", ", model.OpsetImport.Select(o => $"{(o.Domain.Length == 0 ? "ai.onnx" : o.Domain)} {o.Version}"));
        text.AppendLine(c, $"model       {path}");
        text.AppendLine(c, $"producer    {(model.ProducerName.Length == 0 ? "-" : $"{model.ProducerName} {model.ProducerVersion}".Trim())}, IR {model.IrVersion}, opsets: {opsets}");
        foreach (var input in analysis.Inputs)
        {
            text.AppendLine(c, $"input       {input.Name} {Signature(input)}");
        }

        foreach (var output in analysis.Outputs)
        {
            text.AppendLine(c, $"output      {output.Name} {Signature(output)}");
        }

        text.AppendLine(c, $"parameters  {analysis.Parameters:N0} ({analysis.Parameters / 1e6:0.00} M){(analysis.BatchNormParameters > 0 ? $", plus {analysis.BatchNormParameters:N0} batch-norm" : "")}");
        text.AppendLine(c, $"mult-adds   {analysis.MultiplyAdds:N0} ({analysis.MultiplyAdds / 1e6:0.0} M) per image{(analysis.IsComplete ? "" : " (incomplete: see warnings)")}");
        text.AppendLine(c, $"other ops   {analysis.OtherOperations:N0} ({analysis.OtherOperations / 1e6:0.0} M) elementwise and pooling, not in mult-adds");
        text.AppendLine();
        var nameWidth = Math.Max(5, analysis.Layers.Select(l => l.Name.Length).DefaultIfEmpty(0).Max());
        var opWidth = Math.Max(2, analysis.Layers.Select(l => l.OpType.Length).DefaultIfEmpty(0).Max());
        text.AppendLine(c, $"{"LAYER".PadRight(nameWidth)}  {"OP".PadRight(opWidth)}  {"OUTPUT SHAPE",-18}  {"PARAMETERS",12}  {"MULT-ADDS",15}");
        foreach (var layer in analysis.Layers)
        {
            var shape = layer.OutputShape is null ? "?" : string.Join("x", layer.OutputShape);
            text.AppendLine(c, $"{layer.Name.PadRight(nameWidth)}  {layer.OpType.PadRight(opWidth)}  {shape,-18}  {layer.Parameters,12:N0}  {layer.MultiplyAdds,15:N0}");
        }

        return text.ToString();
    }

    /// <summary>Per block: channels, kernel, output size, both costs, the measured ratio beside 1/N + 1/K^2.</summary>
    public static string FullConvolutionText(FullConvolutionComparison comparison)
    {
        ArgumentNullException.ThrowIfNull(comparison);
        var c = CultureInfo.InvariantCulture;
        var text = new System.Text.StringBuilder();
        text.AppendLine();
        if (comparison.Blocks.Count == 0)
        {
            text.AppendLine("no depthwise-separable blocks (depthwise conv followed by a 1x1 conv) in this model");
            return text.ToString();
        }

        var names = comparison.Blocks.Select(b => $"{b.Depthwise} + {b.Pointwise}").ToList();
        var width = Math.Max(5, names.Max(n => n.Length));
        text.AppendLine(c, $"{"BLOCK".PadRight(width)}  {"M",5}  {"N",5}  {"K",2}  {"OUTPUT",-9}  {"SEPARABLE",13}  {"FULL CONV",15}  {"RATIO",6}  {"1/N+1/K^2",9}  {"CHEAPER",7}");
        for (var i = 0; i < comparison.Blocks.Count; i++)
        {
            var b = comparison.Blocks[i];
            text.AppendLine(c, $"{names[i].PadRight(width)}  {b.InputChannels,5}  {b.OutputChannels,5}  {b.Kernel,2}  {string.Join("x", b.OutputSize),-9}  {b.SeparableMultiplyAdds,13:N0}  {b.FullConvolutionMultiplyAdds,15:N0}  {b.Ratio,6:0.0000}  {b.Formula,9:0.0000}  {b.TimesCheaper,6:0.0}x");
        }

        text.AppendLine(c, $"{"all blocks".PadRight(width)}  {"",5}  {"",5}  {"",2}  {"",-9}  {comparison.SeparableMultiplyAdds,13:N0}  {comparison.FullConvolutionMultiplyAdds,15:N0}  {1 / comparison.TimesCheaper,6:0.0000}  {"",9}  {comparison.TimesCheaper,6:0.0}x");
        return text.ToString();
    }

    public static string ToJson(string path, ModelProto model, ModelAnalysis analysis, FullConvolutionComparison? comparison = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(analysis);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("file", path);
            json.WriteString("producer", model.ProducerName);
            json.WriteNumber("irVersion", model.IrVersion);
            json.WriteStartArray("opsets");
            foreach (var opset in model.OpsetImport)
            {
                json.WriteStartObject();
                json.WriteString("domain", opset.Domain);
                json.WriteNumber("version", opset.Version);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            WriteSignatures(json, "inputs", analysis.Inputs);
            WriteSignatures(json, "outputs", analysis.Outputs);
            json.WriteNumber("parameters", analysis.Parameters);
            json.WriteNumber("batchNormParameters", analysis.BatchNormParameters);
            json.WriteNumber("multiplyAdds", analysis.MultiplyAdds);
            json.WriteNumber("otherOperations", analysis.OtherOperations);
            json.WriteBoolean("complete", analysis.IsComplete);
            json.WriteStartArray("layers");
            foreach (var layer in analysis.Layers)
            {
                json.WriteStartObject();
                json.WriteString("name", layer.Name);
                json.WriteString("op", layer.OpType);
                if (layer.OutputShape is null)
                {
                    json.WriteNull("outputShape");
                }
                else
                {
                    json.WriteStartArray("outputShape");
                    foreach (var d in layer.OutputShape)
                    {
                        json.WriteNumberValue(d);
                    }

                    json.WriteEndArray();
                }

                json.WriteNumber("parameters", layer.Parameters);
                json.WriteNumber("multiplyAdds", layer.MultiplyAdds);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("warnings");
            foreach (var warning in analysis.Warnings)
            {
                json.WriteStringValue(warning);
            }

            json.WriteEndArray();
            if (comparison is not null)
            {
                WriteComparison(json, comparison);
            }

            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteComparison(Utf8JsonWriter json, FullConvolutionComparison comparison)
    {
        // Every property of the records, camel-cased: blocks (channels, kernel, costs, ratio, formula) and totals.
        json.WritePropertyName("fullConvolutionComparison");
        JsonSerializer.Serialize(json, comparison, ComparisonJson);
    }

    private static string Signature(TensorSignature signature) =>
        $"{signature.ElementType} [{(signature.Shape is null ? "unknown rank" : string.Join(", ", signature.Shape))}]";

    private static void WriteSignatures(Utf8JsonWriter json, string property, IReadOnlyList<TensorSignature> signatures)
    {
        json.WriteStartArray(property);
        foreach (var signature in signatures)
        {
            json.WriteStartObject();
            json.WriteString("name", signature.Name);
            json.WriteString("type", signature.ElementType);
            if (signature.Shape is null)
            {
                json.WriteNull("shape");
            }
            else
            {
                json.WriteStartArray("shape");
                foreach (var d in signature.Shape)
                {
                    if (long.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
                    {
                        json.WriteNumberValue(value);
                    }
                    else
                    {
                        json.WriteStringValue(d);
                    }
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
    }
}
