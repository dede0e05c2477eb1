using System.Buffers;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MobileNet.Inference;

/// <summary>
/// A loaded classification model: preprocessing plus batched ONNX inference, softmax and top-k. Thread-safe.
/// Sessions are shared per process: loading the same model file with the same runtime options again reuses the
/// session (reference-counted; the last <see cref="Dispose"/> releases it).
/// </summary>
public sealed class ImageClassifier : IDisposable
{
    private readonly SessionCache.Lease lease;
    private readonly string[] inputNames;
    private readonly string[] outputNames;
    private int disposed;

    private ImageClassifier(SessionCache.Lease lease, ModelDescription description, IReadOnlyList<string> labels, ClassifierOptions options)
    {
        this.lease = lease;
        Description = description;
        Labels = labels;
        Options = options;
        Preprocessor = new ImagePreprocessor(description, options.ImageLimits, options.Decoder);
        inputNames = [description.InputName];
        outputNames = [description.OutputName];
    }

    public ModelDescription Description { get; }

    /// <summary>Class names in index order (from the labels file; index numbers when <see cref="ClassifierOptions.AllowMissingLabels"/> and none was found).</summary>
    public IReadOnlyList<string> Labels { get; }

    public ImagePreprocessor Preprocessor { get; }

    public ClassifierOptions Options { get; }

    internal Microsoft.ML.OnnxRuntime.InferenceSession Session => lease.Session;

    /// <summary>Loads (or reuses) the model at <paramref name="modelPath"/>; throws <see cref="ModelDescriptionException"/> for a bad model, sidecar or labels file.</summary>
    public static ImageClassifier Load(string modelPath, ClassifierOptions? options = null)
    {
        options ??= new ClassifierOptions();
        if (options.IntraOpThreads is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.IntraOpThreads, "IntraOpThreads must be positive");
        }

        var fullPath = ModelDescription.RequireModelFile(modelPath);
        var lease = SessionCache.Acquire(fullPath, options);
        try
        {
            var description = ModelDescription.FromSession(fullPath, lease.Session, options.LabelsPath);
            IReadOnlyList<string> labels;
            if (description.Labels is { } found)
            {
                labels = found;
            }
            else if (options.AllowMissingLabels)
            {
                labels = Enumerable.Range(0, description.ClassCount).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
            }
            else
            {
                throw new ModelDescriptionException(
                    $"no labels file for {modelPath}: pass one (--labels), name it in {ModelDescription.SidecarPathFor(modelPath)} (\"labels\"), or put {string.Join(" or ", ModelDescription.DefaultLabelFileNames)} beside the model");
            }

            return new ImageClassifier(lease, description, labels, options);
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Classifies <paramref name="batchSize"/> preprocessed images laid out back to back in <paramref name="batch"/>
    /// (each <see cref="ImagePreprocessor.TensorLength"/> floats). Returns, per image, the top <paramref name="topK"/>
    /// classes as probabilities, best first; equal scores -> lower class index first.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<LabelScore>> Classify(ReadOnlySpan<float> batch, int batchSize, int topK)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        var tensorLength = Description.TensorLength;
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (batch.Length != batchSize * tensorLength)
        {
            throw new ArgumentException($"batch holds {batch.Length} floats; {batchSize} images need {batchSize * tensorLength}", nameof(batch));
        }

        ValidateTopK(topK);
        var results = new IReadOnlyList<LabelScore>[batchSize];
        // A model with a fixed batch of 1 runs images one by one.
        var step = Description.FixedBatchSize ?? batchSize;
        for (var start = 0; start < batchSize; start += step)
        {
            var count = Math.Min(step, batchSize - start);
            Run(batch.Slice(start * tensorLength, count * tensorLength), count, topK, results.AsSpan(start, count));
        }

        return results;
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> unless 1 &lt;= <paramref name="topK"/> &lt;= class count (at most 1000).</summary>
    public void ValidateTopK(int topK)
    {
        var max = MaxTopK;
        if (topK < 1 || topK > max)
        {
            throw new ArgumentOutOfRangeException(nameof(topK), topK, $"top-k must be 1..{max} (the model has {Description.ClassCount} classes)");
        }
    }

    /// <summary>Largest top-k this model accepts: its class count, capped at 1000.</summary>
    public int MaxTopK => Math.Min(Description.ClassCount, 1000);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            lease.Dispose();
        }
    }

    private unsafe void Run(ReadOnlySpan<float> input, int count, int topK, Span<IReadOnlyList<LabelScore>> results)
    {
        var d = Description;
        long[] shape = d.Layout == TensorLayout.Nchw ? [count, 3, d.Height, d.Width] : [count, d.Height, d.Width, 3];
        IDisposableReadOnlyCollection<OrtValue> outputs;
        fixed (float* pointer = input)
        {
            // Wraps the caller's memory without copying; the value must not outlive the fixed block.
            using var inputValue = OrtValue.CreateTensorValueWithData(
                OrtMemoryInfo.DefaultInstance, TensorElementType.Float, shape, (IntPtr)pointer, (long)input.Length * sizeof(float));
            using var runOptions = new RunOptions();
            outputs = lease.Session.Run(runOptions, inputNames, [inputValue], outputNames);
        }

        using (outputs)
        {
            var output = outputs[0];
            var values = output.GetTensorDataAsSpan<float>();
            if (values.Length != count * d.OutputLength)
            {
                throw new InvalidOperationException($"model output '{d.OutputName}' has {values.Length} values for {count} images; expected {count} x {d.OutputLength}");
            }

            var scores = ArrayPool<float>.Shared.Rent(d.OutputLength);
            try
            {
                for (var i = 0; i < count; i++)
                {
                    var row = scores.AsSpan(0, d.OutputLength);
                    values.Slice(i * d.OutputLength, d.OutputLength).CopyTo(row);
                    if (d.Outputs == ModelOutputKind.Logits)
                    {
                        // Softmax over every output (background included for offset models), then the offset is dropped.
                        ScoreMath.Softmax(row);
                    }

                    var classes = row[d.LabelOffset..];
                    var top = ScoreMath.TopK(classes, topK);
                    var labels = new LabelScore[topK];
                    for (var j = 0; j < topK; j++)
                    {
                        labels[j] = new LabelScore(top[j], Labels[top[j]], classes[top[j]]);
                    }

                    results[i] = labels;
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(scores);
            }
        }
    }
}
