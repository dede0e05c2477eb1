using System.CommandLine;
using System.Globalization;
using MobileNet.Inference;
using MobileNet.Inference.Files;
using MobileNet.Orleans.Client.Local;
using MobileNet.Orleans.Client.Terminal;

namespace MobileNet.Orleans.Client.Commands;

/// <summary>
/// <c>mobilenet classify &lt;file|dir&gt;... --model m.onnx</c>: labels local images with one model, in this process.
/// One row per image in sorted path order (errors included), CSV or JSONL on stdout or to a file (written to a temp file,
/// then renamed). Exit 0 even with error rows; 2 for bad usage or input; 1 for a runtime failure.
/// </summary>
public static class ClassifyCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("paths") { Description = "image files and/or folders (walked recursively for .jpg .jpeg .png .bmp .gif .tif .tiff .webp)", Arity = ArgumentArity.OneOrMore };
        var model = new Option<string>("--model", "-m") { Description = "the ONNX model (a <model>.json sidecar beside it describes its input, if needed)", Required = true };
        var labels = new Option<string?>("--labels") { Description = "class names, one per line (default: the sidecar's, else imagenet_classes.txt or labels.txt beside the model)" };
        var topK = new Option<int>("--top-k", "-k") { Description = "labels per image", DefaultValueFactory = _ => 5 };
        var batch = new Option<int>("--batch", "-b") { Description = "images per inference call (1..256)", DefaultValueFactory = _ => 8 };
        var format = new Option<string>("--format") { Description = "csv or jsonl", DefaultValueFactory = _ => "csv" };
        format.AcceptOnlyFromAmong("csv", "jsonl");
        var output = new Option<string?>("--output", "-o") { Description = "write results to this file instead of stdout (replaced atomically when done)" };
        var threads = new Option<int?>("--threads") { Description = "inference threads (default: the cores this process may use)" };
        var command = new Command("classify", "Label local image files with a model, in this process (no cluster).")
        {
            paths, model, labels, topK, batch, format, output, threads,
        };
        command.SetAction(async (ParseResult parse, CancellationToken ct) =>
        {
            var request = new ClassifyRequest(
                parse.GetValue(paths) ?? [],
                parse.GetValue(model)!,
                parse.GetValue(labels),
                parse.GetValue(topK),
                parse.GetValue(batch),
                LabelingRecordFormat.ParseFormat(parse.GetValue(format)!),
                parse.GetValue(output),
                parse.GetValue(threads));
            return await RunAsync(request, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct);
        });
        return command;
    }

    /// <summary>Where stderr is not a terminal: nothing for short runs, then a progress line this often.</summary>
    public static readonly TimeSpan ProgressLineInterval = TimeSpan.FromSeconds(10);

    public sealed record ClassifyRequest(
        IReadOnlyList<string> Paths, string Model, string? Labels, int TopK, int BatchSize, LabelingOutputFormat Format, string? OutputPath, int? Threads);

    public static async Task<int> RunAsync(ClassifyRequest request, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        if (request.BatchSize is < 1 or > 256)
        {
            throw new CliUsageException($"--batch {request.BatchSize} must be between 1 and 256");
        }

        if (request.TopK < 1)
        {
            throw new CliUsageException($"--top-k {request.TopK} must be at least 1");
        }

        if (request.Threads is < 1)
        {
            throw new CliUsageException($"--threads {request.Threads} must be at least 1");
        }

        if (!File.Exists(request.Model))
        {
            throw new CliUsageException($"--model: no such file: {request.Model}");
        }

        if (request.Labels is not null && !File.Exists(request.Labels))
        {
            throw new CliUsageException($"--labels: no such file: {request.Labels}");
        }

        if (request.OutputPath is not null && !Directory.Exists(Path.GetDirectoryName(Path.GetFullPath(request.OutputPath))))
        {
            throw new CliUsageException($"--output: the folder of {request.OutputPath} does not exist");
        }

        var images = ImageFileCollector.Collect(request.Paths);
        using var classifier = LoadClassifier(request);
        if (request.TopK > classifier.MaxTopK)
        {
            throw new CliUsageException($"--top-k {request.TopK} is out of range: this model has {classifier.Description.ClassCount} classes (max {classifier.MaxTopK})");
        }

        if (images.Count == 0)
        {
            await stderr.WriteLineAsync("note: no image files found (.jpg .jpeg .png .bmp .gif .tif .tiff .webp)");
        }

        var pipeline = new LabelingPipeline(classifier, new LabelingPipelineOptions
        {
            TopK = request.TopK,
            BatchSize = request.BatchSize,
            MaxImageBytes = classifier.Preprocessor.Limits.MaxBytes,
        });
        // A live bar only when the rows do not scroll through the same screen.
        var progress = WorkProgress.For(stderr, request.OutputPath is not null || !CliConsole.IsTerminal(stdout), "labeling", "images", images.Count, ProgressLineInterval, ProgressLine);
        // Rows name the model file's SHA-256, as cluster results name the pinned model's.
        string modelSha;
        await using (var modelFile = File.OpenRead(classifier.Description.ModelPath ?? request.Model))
        {
            modelSha = Convert.ToHexStringLower(await System.Security.Cryptography.SHA256.HashDataAsync(modelFile, ct));
        }

        var sources = images.Select(path => ImageSource.FromFile(path)).ToAsyncEnumerable();

        await progress.RunAsync(async () =>
        {
            if (request.OutputPath is null)
            {
                await WriteAsync(stdout);
            }
            else
            {
                await AtomicFile.WriteTextAsync(request.OutputPath, (writer, _) => WriteAsync(writer), ct);
            }

            return true;
        });
        await stderr.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"labeled {progress.Done} images ({progress.Done - progress.Failed} ok, {progress.Failed} errors) in {progress.Elapsed.TotalSeconds:F1} s ({progress.Rate:F1} images/s)"));
        return ExitCodes.Success;

        async Task WriteAsync(TextWriter writer)
        {
            await LabelingRecordFormat.WriteAsync(writer, Track(pipeline.RunAsync(sources, ct)), request.Format, request.TopK, writeHeader: true, ct);
            await writer.FlushAsync(ct);
        }

        async IAsyncEnumerable<LabelingRecord> Track(IAsyncEnumerable<LabelingRecord> records)
        {
            await foreach (var record in records)
            {
                progress.Advance(record.Error is not null);
                yield return record with { Model = modelSha };
            }
        }
    }

    private static string ProgressLine(WorkProgress p) => string.Create(
        CultureInfo.InvariantCulture,
        $"progress: {p.Done}/{p.Total} images ({(p.Total == 0 ? 1.0 : (double)p.Done / p.Total):P0}), {p.Rate:F1} images/s, {p.Failed} errors");

    private static ImageClassifier LoadClassifier(ClassifyRequest request)
    {
        try
        {
            return ImageClassifier.Load(request.Model, new ClassifierOptions { LabelsPath = request.Labels, IntraOpThreads = request.Threads });
        }
        catch (ModelDescriptionException ex)
        {
            throw new CliUsageException(ex.Message);
        }
    }
}
