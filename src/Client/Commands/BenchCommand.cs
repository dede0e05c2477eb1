using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using MobileNet.Inference;
using MobileNet.Orleans.Client.Local;

namespace MobileNet.Orleans.Client.Commands;

/// <summary>
/// <c>mobilenet bench --model m.onnx</c>: images/s for preprocessing alone, inference alone and the whole pipeline,
/// as the median of several timed rounds; optionally ONNX Runtime's default session options against the tuned ones,
/// interleaved round by round so both see the same machine load.
/// </summary>
public static class BenchCommand
{
    private const int MaxImages = 256;
    private const int SyntheticCount = 32;

    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "the ONNX model", Required = true };
        var images = new Option<string?>("--images") { Description = $"folder of sample images (first {MaxImages}, sorted); default: {SyntheticCount} synthetic 500x375 JPEGs generated in memory" };
        var batch = new Option<int>("--batch", "-b") { Description = "images per inference call", DefaultValueFactory = _ => 8 };
        var threads = new Option<int?>("--threads") { Description = "inference threads and decoders (default: the cores this process may use)" };
        var seconds = new Option<double>("--seconds") { Description = "length of each timed round, per measure", DefaultValueFactory = _ => 3.0 };
        var rounds = new Option<int>("--rounds") { Description = "timed rounds; the median is reported", DefaultValueFactory = _ => 5 };
        var compare = new Option<bool>("--compare-default-options") { Description = "also measure ONNX Runtime's default session options, interleaved with the tuned ones" };
        var decoder = new Option<string>("--decoder") { Description = "image decoder for preprocessing: skia (the default, as classify and silos use), imagesharp, or both side by side", DefaultValueFactory = _ => "skia" };
        decoder.AcceptOnlyFromAmong("skia", "imagesharp", "both");
        var command = new Command("bench", "Measure local throughput: preprocessing, inference and both together (images/s).")
        {
            model, images, batch, threads, seconds, rounds, compare, decoder,
        };
        command.SetAction(async (ParseResult parse, CancellationToken ct) =>
        {
            var request = new BenchRequest(
                parse.GetValue(model)!, parse.GetValue(images), parse.GetValue(batch), parse.GetValue(threads) ?? Environment.ProcessorCount,
                parse.GetValue(seconds), parse.GetValue(rounds), parse.GetValue(compare), ParseDecoders(parse.GetValue(decoder)!));
            return await RunAsync(request, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct);
        });
        return command;
    }

    public sealed record BenchRequest(
        string Model, string? Images, int BatchSize, int Threads, double Seconds, int Rounds, bool CompareDefaultOptions,
        IReadOnlyList<ImageDecoderKind>? Decoders = null)
    {
        /// <summary>Decoders whose preprocessing is measured; the first also runs the pipeline measure.</summary>
        public IReadOnlyList<ImageDecoderKind> MeasuredDecoders => Decoders is { Count: > 0 } ? Decoders : [ImageDecoderKind.Skia];
    }

    /// <summary>One measured line: images/s of every round and their median.</summary>
    public sealed record BenchResult(string Measure, string Options, IReadOnlyList<double> ImagesPerSecond)
    {
        public double Median
        {
            get
            {
                var sorted = ImagesPerSecond.Order().ToArray();
                var middle = sorted.Length / 2;
                return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
            }
        }
    }

    public static async Task<int> RunAsync(BenchRequest request, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        Validate(request);
        var encoded = LoadImages(request, stderr);

        using var tuned = Load(request.Model, new ClassifierOptions { IntraOpThreads = request.Threads, AllowMissingLabels = true, Decoder = request.MeasuredDecoders[0] });
        using var defaults = request.CompareDefaultOptions
            ? Load(request.Model, new ClassifierOptions { UseDefaultRuntimeOptions = true, AllowMissingLabels = true, Decoder = request.MeasuredDecoders[0] })
            : null;
        var d = tuned.Description;
        await stderr.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"model: {request.Model} ({d.Width}x{d.Height} {d.Layout.ToString().ToUpperInvariant()}, {d.ClassCount} classes{(d.FixedBatchSize is 1 ? ", fixed batch 1: batches run image by image" : "")}); cores: {Environment.ProcessorCount}; threads: {request.Threads}; batch: {request.BatchSize}; {request.Rounds} rounds x {request.Seconds:0.#} s per measure"));

        var tensors = PreprocessAll(tuned.Preprocessor, encoded);
        if (tensors.Count == 0)
        {
            throw new CliUsageException("none of the images could be decoded; give a folder of JPEG/PNG/... photos with --images");
        }

        var variants = new List<(string Name, ImageClassifier Classifier)> { ("tuned", tuned) };
        if (defaults is not null)
        {
            variants.Add(("default", defaults));
        }

        var duration = TimeSpan.FromSeconds(request.Seconds);
        var batchInput = BuildBatch(tensors, request.BatchSize, tuned.Preprocessor.TensorLength);
        var sources = encoded.Select((bytes, i) => ImageSource.FromBytes($"image-{i}", bytes)).ToList();

        // Warm-up: first runs allocate ORT arenas and JIT the pipeline; not timed.
        foreach (var (_, classifier) in variants)
        {
            MeasureInference(classifier, batchInput, request.BatchSize, TimeSpan.FromMilliseconds(300));
            await MeasurePipelineAsync(classifier, sources, request, TimeSpan.FromMilliseconds(300), ct);
        }

        var preprocessors = request.MeasuredDecoders
            .Select(kind => (Name: DecoderName(kind), Preprocessor: new ImagePreprocessor(tuned.Description, tuned.Preprocessor.Limits, kind)))
            .ToList();
        foreach (var (_, preprocessor) in preprocessors)
        {
            MeasurePreprocessing(preprocessor, encoded, request.Threads, TimeSpan.FromMilliseconds(300));
        }

        var preprocess = preprocessors.ToDictionary(p => p.Name, _ => new List<double>());
        var inference = variants.ToDictionary(v => v.Name, _ => new List<double>());
        var pipeline = variants.ToDictionary(v => v.Name, _ => new List<double>());
        for (var round = 0; round < request.Rounds; round++)
        {
            ct.ThrowIfCancellationRequested();
            // Alternate which variant goes first so neither always runs on a warmer or cooler machine.
            foreach (var (name, preprocessor) in round % 2 == 0 ? preprocessors : Enumerable.Reverse(preprocessors).ToList())
            {
                preprocess[name].Add(MeasurePreprocessing(preprocessor, encoded, request.Threads, duration));
            }

            var ordered = round % 2 == 0 ? variants : Enumerable.Reverse(variants).ToList();
            foreach (var (name, classifier) in ordered)
            {
                inference[name].Add(MeasureInference(classifier, batchInput, request.BatchSize, duration));
                pipeline[name].Add(await MeasurePipelineAsync(classifier, sources, request, duration, ct));
            }

            await stderr.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"round {round + 1}/{request.Rounds} done"));
        }

        var results = preprocessors.Select(p => new BenchResult("preprocess", p.Name, preprocess[p.Name])).ToList();
        results.AddRange(variants.Select(v => new BenchResult("inference", v.Name, inference[v.Name])));
        results.AddRange(variants.Select(v => new BenchResult("pipeline", v.Name, pipeline[v.Name])));
        await WriteTableAsync(stdout, results, request);
        return ExitCodes.Success;
    }

    private static IReadOnlyList<ImageDecoderKind> ParseDecoders(string value) => value switch
    {
        "imagesharp" => [ImageDecoderKind.ImageSharp],
        "both" => [ImageDecoderKind.Skia, ImageDecoderKind.ImageSharp],
        _ => [ImageDecoderKind.Skia],
    };

    private static string DecoderName(ImageDecoderKind kind) => kind == ImageDecoderKind.Skia ? "skia" : "imagesharp";

    private static void Validate(BenchRequest request)
    {
        if (request.BatchSize is < 1 or > 256)
        {
            throw new CliUsageException($"--batch {request.BatchSize} must be between 1 and 256");
        }

        if (request.Threads is < 1 or > 256)
        {
            throw new CliUsageException($"--threads {request.Threads} must be between 1 and 256");
        }

        if (request.Seconds is < 0.1 or > 600 || double.IsNaN(request.Seconds))
        {
            throw new CliUsageException($"--seconds {request.Seconds} must be between 0.1 and 600");
        }

        if (request.Rounds is < 1 or > 100)
        {
            throw new CliUsageException($"--rounds {request.Rounds} must be between 1 and 100");
        }

        if (!File.Exists(request.Model))
        {
            throw new CliUsageException($"--model: no such file: {request.Model}");
        }

        if (request.Images is not null && !Directory.Exists(request.Images))
        {
            throw new CliUsageException($"--images: no such folder: {request.Images}");
        }
    }

    private static IReadOnlyList<byte[]> LoadImages(BenchRequest request, TextWriter stderr)
    {
        if (request.Images is null)
        {
            stderr.WriteLine($"images: {SyntheticCount} synthetic {SyntheticImages.Width}x{SyntheticImages.Height} JPEGs generated in memory (deterministic; no --images given)");
            return SyntheticImages.Generate(SyntheticCount);
        }

        var files = ImageFileCollector.Collect([request.Images]).Take(MaxImages).ToList();
        if (files.Count == 0)
        {
            throw new CliUsageException($"--images: no image files in {request.Images}");
        }

        stderr.WriteLine($"images: {files.Count} files from {request.Images}, held in memory");
        return files.Select(File.ReadAllBytes).ToList();
    }

    private static ImageClassifier Load(string model, ClassifierOptions options)
    {
        try
        {
            return ImageClassifier.Load(model, options);
        }
        catch (ModelDescriptionException ex)
        {
            throw new CliUsageException(ex.Message);
        }
    }

    private static List<float[]> PreprocessAll(ImagePreprocessor preprocessor, IReadOnlyList<byte[]> encoded)
    {
        var tensors = new List<float[]>();
        foreach (var bytes in encoded)
        {
            var tensor = new float[preprocessor.TensorLength];
            if (preprocessor.TryPreprocess(bytes, tensor, out _))
            {
                tensors.Add(tensor);
            }
        }

        return tensors;
    }

    private static float[] BuildBatch(List<float[]> tensors, int batchSize, int tensorLength)
    {
        var batch = new float[batchSize * tensorLength];
        for (var i = 0; i < batchSize; i++)
        {
            tensors[i % tensors.Count].CopyTo(batch, i * tensorLength);
        }

        return batch;
    }

    private static double MeasurePreprocessing(ImagePreprocessor preprocessor, IReadOnlyList<byte[]> encoded, int workers, TimeSpan duration)
    {
        long done = 0;
        var clock = Stopwatch.StartNew();
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, worker =>
        {
            var tensor = new float[preprocessor.TensorLength];
            for (var i = worker; i < encoded.Count || clock.Elapsed < duration; i += workers)
            {
                preprocessor.TryPreprocess(encoded[i % encoded.Count], tensor, out _);
                Interlocked.Increment(ref done);
            }
        });
        return done / clock.Elapsed.TotalSeconds;
    }

    private static double MeasureInference(ImageClassifier classifier, float[] batch, int batchSize, TimeSpan duration)
    {
        long done = 0;
        var clock = Stopwatch.StartNew();
        do
        {
            classifier.Classify(batch, batchSize, TopK(classifier));
            done += batchSize;
        }
        while (clock.Elapsed < duration);

        return done / clock.Elapsed.TotalSeconds;
    }

    private static async Task<double> MeasurePipelineAsync(ImageClassifier classifier, List<ImageSource> sources, BenchRequest request, TimeSpan duration, CancellationToken ct)
    {
        var pipeline = new LabelingPipeline(classifier, new LabelingPipelineOptions
        {
            TopK = TopK(classifier),
            BatchSize = request.BatchSize,
            DecodeParallelism = request.Threads,
        });
        long done = 0;
        var clock = Stopwatch.StartNew();
        await foreach (var _ in pipeline.RunAsync(Cycle(sources, clock, duration, ct), ct))
        {
            done++;
        }

        return done / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Top-5 as classify does by default, or every class of a smaller model.</summary>
    private static int TopK(ImageClassifier classifier) => Math.Min(5, classifier.MaxTopK);

    private static async IAsyncEnumerable<ImageSource> Cycle(List<ImageSource> sources, Stopwatch clock, TimeSpan duration, [EnumeratorCancellation] CancellationToken ct)
    {
        // At least one pass over the images, however slow the machine, so every round measures something.
        for (var i = 0; i < sources.Count || clock.Elapsed < duration; i++)
        {
            ct.ThrowIfCancellationRequested();
            yield return sources[i % sources.Count];
        }

        await Task.CompletedTask;
    }

    private static async Task WriteTableAsync(TextWriter stdout, List<BenchResult> results, BenchRequest request)
    {
        // Options: the decoder for preprocess rows, the ONNX Runtime options for the others. ms per image is core time:
        // threads x wall time per image.
        await stdout.WriteLineAsync("measure     options     batch  threads  median_images_per_s  ms_per_image  rounds_images_per_s");
        foreach (var r in results)
        {
            var batch = r.Measure == "preprocess" ? "-" : request.BatchSize.ToString(CultureInfo.InvariantCulture);
            var threads = r.Options == "default" ? "ort" : request.Threads.ToString(CultureInfo.InvariantCulture);
            var milliseconds = r.Median > 0 ? (request.Threads * 1000.0 / r.Median).ToString("F2", CultureInfo.InvariantCulture) : "-";
            await stdout.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"{r.Measure,-11} {r.Options,-11} {batch,5}  {threads,7}  {r.Median,19:F1}  {milliseconds,12}  {string.Join(' ', r.ImagesPerSecond.Select(v => v.ToString("F1", CultureInfo.InvariantCulture)))}"));
        }

        var skia = results.SingleOrDefault(r => r.Measure == "preprocess" && r.Options == "skia");
        var imageSharp = results.SingleOrDefault(r => r.Measure == "preprocess" && r.Options == "imagesharp");
        if (skia is not null && imageSharp is not null && imageSharp.Median > 0)
        {
            await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"ratio preprocess skia/imagesharp: {skia.Median / imageSharp.Median:F2}"));
        }

        foreach (var measure in new[] { "inference", "pipeline" })
        {
            var t = results.SingleOrDefault(r => r.Measure == measure && r.Options == "tuned");
            var d = results.SingleOrDefault(r => r.Measure == measure && r.Options == "default");
            if (t is not null && d is not null && d.Median > 0)
            {
                await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"ratio {measure} tuned/default: {t.Median / d.Median:F2}"));
            }
        }
    }
}
