using System.Buffers;
using System.Runtime.CompilerServices;

namespace MobileNet.Inference;

/// <summary>
/// Labels a stream of images: reads several at once, decodes in parallel, runs batched inference, and yields exactly
/// one record per image IN INPUT ORDER. Memory is bounded whatever the input size: at most
/// (<see cref="LabelingPipelineOptions.ReadParallelism"/> + <see cref="LabelingPipelineOptions.DecodeParallelism"/>) encoded
/// images are held, each at most <see cref="LabelingPipelineOptions.MaxImageBytes"/>, and a fixed window of
/// preprocessed tensors. Per-image problems (<see cref="ImageLoadException"/> from a source, undecodable bytes) become
/// error records; any other exception from a source fails the run.
/// </summary>
public sealed class LabelingPipeline
{
    private const int ReadChunk = 81_920;

    private readonly ImageClassifier classifier;
    private readonly LabelingPipelineOptions options;

    public LabelingPipeline(ImageClassifier classifier, LabelingPipelineOptions options)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(classifier);
        this.classifier = classifier;
        this.options = options;
    }

    public LabelingPipelineOptions Options => options;

    public async IAsyncEnumerable<LabelingRecord> RunAsync(IAsyncEnumerable<ImageSource> sources, [EnumeratorCancellation] CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(sources);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var readGate = new SemaphoreSlim(options.ReadParallelism);
        using var decodeGate = new SemaphoreSlim(options.DecodeParallelism);
        var tensorLength = classifier.Preprocessor.TensorLength;
        var batchSize = options.BatchSize;
        // In flight: a batch being assembled, the next one preparing, and what the readers/decoders hold.
        var window = (2 * batchSize) + options.DecodeParallelism + options.ReadParallelism;
        var inFlight = new Queue<(string Name, Task<Prepared> Task)>(window);
        // Rented on the first decoded image: ~4.8 MB at batch 8, a large object that a silo running several shards a
        // second (each a pipeline) would otherwise leave to gen-2 collections, and that a shard of only errors never needs.
        float[]? batch = null;
        var held = new List<Held>(batchSize * 2);
        var batchCount = 0;
        var ready = new List<LabelingRecord>(batchSize * 2);
        try
        {
            await foreach (var source in sources.WithCancellation(ct))
            {
                ArgumentNullException.ThrowIfNull(source);
                while (inFlight.Count >= window || (inFlight.Count > 0 && inFlight.Peek().Task.IsCompleted))
                {
                    await TakeHeadAsync();
                    foreach (var record in ready)
                    {
                        yield return record;
                    }

                    ready.Clear();
                }

                var token = stop.Token;
                inFlight.Enqueue((source.Name, Task.Run(() => PrepareAsync(source, readGate, decodeGate, token), token)));
            }

            while (inFlight.Count > 0)
            {
                await TakeHeadAsync();
                foreach (var record in ready)
                {
                    yield return record;
                }

                ready.Clear();
            }

            await FlushAsync();
            foreach (var record in ready)
            {
                yield return record;
            }
        }
        finally
        {
            // Early exit (consumer stopped, failure, cancellation): stop the preparers and return their buffers.
            await stop.CancelAsync();
            if (batch is not null)
            {
                ArrayPool<float>.Shared.Return(batch);
            }

            while (inFlight.Count > 0)
            {
                var (_, task) = inFlight.Dequeue();
                try
                {
                    (await task).Release();
                }
#pragma warning disable CA1031 // Already failing or abandoned: the first error has been surfaced; later ones are moot.
                catch
#pragma warning restore CA1031
                {
                }
            }
        }

        async Task TakeHeadAsync()
        {
            var (name, task) = inFlight.Dequeue();
            Prepared prepared;
            try
            {
                prepared = await task;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested && task.IsCanceled)
            {
                throw new InvalidOperationException($"preparing {name} was cancelled unexpectedly");
            }

            if (prepared.Error is { } error)
            {
                var record = LabelingRecord.Failed(name, error);
                if (held.Count == 0)
                {
                    ready.Add(record);
                }
                else
                {
                    held.Add(new Held(name, -1, record));
                }

                return;
            }

            batch ??= ArrayPool<float>.Shared.Rent(batchSize * tensorLength);
            prepared.Tensor.AsSpan(0, tensorLength).CopyTo(batch.AsSpan(batchCount * tensorLength, tensorLength));
            prepared.Release();
            held.Add(new Held(name, batchCount++, null));
            if (batchCount == batchSize)
            {
                await FlushAsync();
            }
        }

        async Task FlushAsync()
        {
            if (batchCount > 0)
            {
                var count = batchCount;
                var filled = batch!;
                var labels = await Task.Run(() => classifier.Classify(filled.AsSpan(0, count * tensorLength), count, options.TopK), stop.Token);
                foreach (var item in held)
                {
                    ready.Add(item.Record ?? new LabelingRecord(item.Name, labels[item.Slot], null));
                }
            }
            else
            {
                ready.AddRange(held.Select(h => h.Record!));
            }

            held.Clear();
            batchCount = 0;
        }
    }

    private async Task<Prepared> PrepareAsync(ImageSource source, SemaphoreSlim readGate, SemaphoreSlim decodeGate, CancellationToken ct)
    {
        byte[]? encoded = null;
        var length = 0;
        await readGate.WaitAsync(ct);
        var holdingRead = true;
        try
        {
            ImageError? readError;
            try
            {
                (encoded, length, readError) = await ReadAsync(source, ct);
            }
            catch (ImageLoadException ex)
            {
                readError = ex.Error;
            }

            if (readError is not null)
            {
                return new Prepared(null, readError);
            }

            // The read slot is held until a decoder is free, so encoded bytes waiting in memory stay bounded.
            await decodeGate.WaitAsync(ct);
            readGate.Release();
            holdingRead = false;
            try
            {
                var tensor = ArrayPool<float>.Shared.Rent(classifier.Preprocessor.TensorLength);
                if (classifier.Preprocessor.TryPreprocess(encoded.AsSpan(0, length), tensor, out var error))
                {
                    return new Prepared(tensor, null);
                }

                ArrayPool<float>.Shared.Return(tensor);
                return new Prepared(null, error);
            }
            finally
            {
                decodeGate.Release();
            }
        }
        finally
        {
            if (holdingRead)
            {
                readGate.Release();
            }

            if (encoded is not null)
            {
                ArrayPool<byte>.Shared.Return(encoded);
            }
        }
    }

    /// <summary>Reads the whole source into a pooled buffer, refusing (without reading further) anything over the cap.</summary>
    private async Task<(byte[]? Buffer, int Length, ImageError? Error)> ReadAsync(ImageSource source, CancellationToken ct)
    {
        var max = (int)options.MaxImageBytes;
        var stream = await source.OpenAsync(ct);
        await using (stream)
        {
            var initial = ReadChunk;
            if (stream.CanSeek)
            {
                var remaining = stream.Length - stream.Position;
                if (remaining > max)
                {
                    return (null, 0, ImagePreprocessor.TooManyBytes(remaining, max));
                }

                // One spare byte so that end-of-stream is seen without growing the buffer.
                initial = (int)Math.Min(remaining + 1, (long)max + 1);
            }

            var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initial, 1));
            var length = 0;
            try
            {
                while (true)
                {
                    if (length == buffer.Length)
                    {
                        if (length > max)
                        {
                            break;
                        }

                        var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, (long)max + 1));
                        buffer.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }

                    var read = await stream.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, max + 1) - length), ct);
                    if (read == 0)
                    {
                        break;
                    }

                    length += read;
                    if (length > max)
                    {
                        break;
                    }
                }

                if (length > max)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return (null, 0, new ImageError(ImageErrorCodes.TooLarge, $"more than the {max}-byte limit"));
                }

                return (buffer, length, null);
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(buffer);
                throw;
            }
        }
    }

    private sealed record Prepared(float[]? Tensor, ImageError? Error)
    {
        private int released;

        public void Release()
        {
            if (Tensor is not null && Interlocked.Exchange(ref released, 1) == 0)
            {
                ArrayPool<float>.Shared.Return(Tensor);
            }
        }
    }

    private sealed record Held(string Name, int Slot, LabelingRecord? Record);
}
