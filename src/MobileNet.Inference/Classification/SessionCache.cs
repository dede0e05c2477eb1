using Microsoft.ML.OnnxRuntime;

namespace MobileNet.Inference;

/// <summary>
/// One ONNX Runtime session per (model file, runtime options) per process, reference-counted: a session holds the
/// model's weights and its thread pool, so loading it once per silo/process rather than per caller saves both.
/// </summary>
internal static class SessionCache
{
    private static readonly Dictionary<string, Entry> Entries = new(StringComparer.Ordinal);
    private static readonly Lock Gate = new();

    public static Lease Acquire(string fullModelPath, ClassifierOptions options)
    {
        var threads = options.ResolvedIntraOpThreads;
        var key = $"{fullModelPath}|{File.GetLastWriteTimeUtc(fullModelPath).Ticks}|{(options.UseDefaultRuntimeOptions ? "default" : $"tuned:{threads}")}";
        lock (Gate)
        {
            if (Entries.TryGetValue(key, out var entry))
            {
                entry.References++;
                return new Lease(key, entry.Session);
            }

            // Created under the lock: two callers loading the same model at once must not build two sessions.
            var session = CreateSession(fullModelPath, options.UseDefaultRuntimeOptions, threads);
            Entries[key] = new Entry(session);
            return new Lease(key, session);
        }
    }

    private static InferenceSession CreateSession(string path, bool defaults, int threads)
    {
        using var options = new SessionOptions();
        // Correctness, not tuning, so the default options get it too; only where it is needed, as it costs ~40% on VNNI.
        if (QuantizedKernelPrecision.NeedsU8U8Kernels)
        {
            options.AddSessionConfigEntry("session.x64quantprecision", "1");
        }
        if (!defaults)
        {
            options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL;
            options.ExecutionMode = ExecutionMode.ORT_SEQUENTIAL;
            options.IntraOpNumThreads = threads;
            options.InterOpNumThreads = 1;
            // Decoding runs beside inference: spinning intra-op threads would steal its cores.
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        }

        try
        {
            return new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelDescriptionException($"{path}: not a loadable ONNX model: {ex.Message}", ex);
        }
    }

    private static void Release(string key)
    {
        InferenceSession? toDispose = null;
        lock (Gate)
        {
            if (Entries.TryGetValue(key, out var entry) && --entry.References == 0)
            {
                Entries.Remove(key);
                toDispose = entry.Session;
            }
        }

        toDispose?.Dispose();
    }

    private sealed class Entry(InferenceSession session)
    {
        public InferenceSession Session { get; } = session;
        public int References { get; set; } = 1;
    }

    public sealed class Lease(string key, InferenceSession session) : IDisposable
    {
        private int released;

        public InferenceSession Session { get; } = session;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                Release(key);
            }
        }
    }
}
