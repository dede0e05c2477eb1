using System.Text;

namespace MobileNet.Inference.Tests;

public sealed class LabelingPipelineTests : IDisposable
{
    private readonly TempDirectory directory = new();

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(4, 2, 3)]
    [InlineData(8, 4, 8)]
    public async Task RunAsync_MixedGoodAndBadImages_OneRecordEachInInputOrder(int batchSize, int decoders, int readers)
    {
        using var classifier = ImageClassifier.Load(TinyOnnxModel.Write(directory.Path));
        var pipeline = new LabelingPipeline(classifier, new LabelingPipelineOptions
        {
            TopK = 2, BatchSize = batchSize, DecodeParallelism = decoders, ReadParallelism = readers,
        });
        var colours = new[] { "red", "green", "blue" };
        var sources = new List<ImageSource>();
        var expected = new List<string>();
        for (var i = 0; i < 37; i++)
        {
            if (i % 5 == 3)
            {
                sources.Add(ImageSource.FromBytes($"bad-{i}.jpg", Encoding.UTF8.GetBytes("not an image")));
                expected.Add("error");
                continue;
            }

            var colour = colours[i % 3];
            var bytes = colour switch
            {
                "red" => TestImages.SolidJpeg(250, 10, 10),
                "green" => TestImages.SolidPng(10, 250, 10),
                _ => TestImages.SolidPng(10, 10, 250),
            };
            sources.Add(ImageSource.FromBytes($"img-{i}", bytes));
            expected.Add(colour);
        }

        var records = await CollectAsync(pipeline, sources);

        Assert.Equal(sources.Select(s => s.Name), records.Select(r => r.Image));
        Assert.Equal(expected, records.Select(r => r.Error is null ? r.Labels[0].Label : "error"));
        Assert.All(records.Where(r => r.Error is null), r => Assert.Equal(2, r.Labels.Count));
        Assert.All(records.Where(r => r.Error is not null), r => Assert.StartsWith(ImageErrorCodes.UnsupportedFormat + ": ", r.Error, StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_FixedBatchOneModel_RunsBatchesImageByImage()
    {
        using var classifier = ImageClassifier.Load(TinyOnnxModel.Write(directory.Path, dynamicBatch: false));
        Assert.Equal(1, classifier.Description.FixedBatchSize);
        var pipeline = new LabelingPipeline(classifier, new LabelingPipelineOptions { TopK = 1, BatchSize = 4 });
        var records = await CollectAsync(pipeline, [.. Enumerable.Range(0, 6).Select(i => ImageSource.FromBytes($"{i}", TestImages.SolidPng(0, 0, 255)))]);
        Assert.All(records, r => Assert.Equal("blue", r.Labels.Single().Label));
    }

    [Fact]
    public async Task RunAsync_SourceThrowsImageLoadException_ErrorRow()
    {
        using var classifier = ImageClassifier.Load(TinyOnnxModel.Write(directory.Path));
        var pipeline = new LabelingPipeline(classifier, new LabelingPipelineOptions { TopK = 1 });
        var missing = new ImageSource("gone.jpg", _ => throw new ImageLoadException(new ImageError(ImageErrorCodes.NotFound, "blob not found")));
        var records = await CollectAsync(pipeline, [ImageSource.FromBytes("ok", TestImages.SolidPng(255, 0, 0)), missing, ImageSource.FromFile(directory.File("nope.png"))]);
        Assert.Equal([null, "not-found: blob not found", "not-found: no such file"], records.Select(r => r.Error));
        Assert.Equal("red", records[0].Labels[0].Label);
    }

    [Fact]
    public async Task RunAsync_SourceThrowsOtherException_RunFails()
    {
        using var classifier = ImageClassifier.Load(TinyOnnxModel.Write(directory.Path));
        var pipeline = new LabelingPipeline(classifier, new LabelingPipelineOptions { TopK = 1, BatchSize = 2 });
        var outage = new ImageSource("x.jpg", _ => throw new IOException("storage unavailable"));
        var sources = Enumerable.Range(0, 5).Select(i => ImageSource.FromBytes($"{i}", TestImages.SolidPng(0, 255, 0))).Append(outage).ToList();
        var ex = await Assert.ThrowsAsync<IOException>(() => CollectAsync(pipeline, sources));
        Assert.Equal("storage unavailable", ex.Message);
    }

    [Fact]
    public async Task RunAsync_OverByteCapUnseekableEndlessStream_TooLargeAfterReadingOnlyTheCap()
    {
        using var classifier = ImageClassifier.Load(TinyOnnxModel.Write(directory.Path));
        const int cap = 50_000;
        var pipeline = new LabelingPipeline(classifier, new LabelingPipelineOptions { TopK = 1, MaxImageBytes = cap });
        var endless = new EndlessStream();
        var seekableBig = new byte[cap + 1];
        var records = await CollectAsync(pipeline,
        [
            new ImageSource("endless", _ => ValueTask.FromResult<Stream>(endless)),
            ImageSource.FromBytes("big", seekableBig),
            ImageSource.FromBytes("small", TestImages.SolidPng(255, 0, 0)),
        ]);
        Assert.StartsWith(ImageErrorCodes.TooLarge + ":", records[0].Error, StringComparison.Ordinal);
        Assert.StartsWith(ImageErrorCodes.TooLarge + ":", records[1].Error, StringComparison.Ordinal);
        Assert.Null(records[2].Error);
        Assert.InRange(endless.BytesRead, cap + 1, cap + 100_000);
    }

    [Fact]
    public async Task RunAsync_ConsumerStopsEarly_DoesNotHangAndReleases()
    {
        using var classifier = ImageClassifier.Load(TinyOnnxModel.Write(directory.Path));
        var pipeline = new LabelingPipeline(classifier, new LabelingPipelineOptions { TopK = 1, BatchSize = 2 });
        var sources = Enumerable.Range(0, 100).Select(i => ImageSource.FromBytes($"{i}", TestImages.SolidPng(0, 255, 0))).ToAsyncEnumerable();
        var taken = 0;
        await foreach (var _ in pipeline.RunAsync(sources, CancellationToken.None))
        {
            if (++taken == 3)
            {
                break;
            }
        }

        Assert.Equal(3, taken);
    }

    [Fact]
    public async Task RunAsync_Cancelled_ThrowsOperationCanceled()
    {
        using var classifier = ImageClassifier.Load(TinyOnnxModel.Write(directory.Path));
        var pipeline = new LabelingPipeline(classifier, new LabelingPipelineOptions { TopK = 1 });
        using var cts = new CancellationTokenSource();
        var slow = new ImageSource("slow", async ct =>
        {
            await cts.CancelAsync();
            await Task.Delay(Timeout.Infinite, ct);
            throw new InvalidOperationException("unreachable");
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => CollectAsync(pipeline, [slow], cts.Token));
    }

    [Fact]
    public async Task RunAsync_HugeLazyInput_PullsOnlyABoundedWindowAhead()
    {
        using var classifier = ImageClassifier.Load(TinyOnnxModel.Write(directory.Path));
        var options = new LabelingPipelineOptions { TopK = 1, BatchSize = 2, DecodeParallelism = 1, ReadParallelism = 1 };
        var pipeline = new LabelingPipeline(classifier, options);
        var png = TestImages.SolidPng(0, 255, 0);
        var pulled = 0;
        var open = 0;
        var maxOpen = 0;

        async IAsyncEnumerable<ImageSource> Endless()
        {
            for (var i = 0; ; i++)
            {
                Interlocked.Increment(ref pulled);
                yield return new ImageSource($"{i}", _ =>
                {
                    var now = Interlocked.Increment(ref open);
                    InterlockedMax(ref maxOpen, now);
                    return ValueTask.FromResult<Stream>(new TrackedStream(png, () => Interlocked.Decrement(ref open)));
                });
                await Task.Yield();
            }
        }

        var seen = 0;
        await foreach (var record in pipeline.RunAsync(Endless(), CancellationToken.None))
        {
            Assert.Equal($"{seen}", record.Image);
            if (++seen == 50)
            {
                break;
            }

            await Task.Delay(seen == 1 ? 200 : 0); // a slow consumer must not let the pipeline run ahead
        }

        var window = (2 * options.BatchSize) + options.DecodeParallelism + options.ReadParallelism;
        Assert.InRange(pulled, 50, 50 + window + 1);
        Assert.InRange(maxOpen, 1, options.ReadParallelism);
    }

    [Fact]
    public async Task RunAsync_DirectoryAsFile_ReadFailedRow()
    {
        using var classifier = ImageClassifier.Load(TinyOnnxModel.Write(directory.Path));
        var pipeline = new LabelingPipeline(classifier, new LabelingPipelineOptions { TopK = 1 });
        var records = await CollectAsync(pipeline, [ImageSource.FromFile(directory.Path)]);
        Assert.StartsWith(ImageErrorCodes.ReadFailed + ": ", records.Single().Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 8)]
    [InlineData(4, 8)]
    [InlineData(1, 0)]
    [InlineData(1, 1000)]
    public void Constructor_InvalidOptions_Throws(int topK, int batch)
    {
        using var classifier = ImageClassifier.Load(TinyOnnxModel.Write(directory.Path));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LabelingPipeline(classifier, new LabelingPipelineOptions { TopK = topK, BatchSize = batch }));
    }

    public void Dispose() => directory.Dispose();

    private static async Task<List<LabelingRecord>> CollectAsync(LabelingPipeline pipeline, IEnumerable<ImageSource> sources, CancellationToken ct = default)
    {
        var records = new List<LabelingRecord>();
        await foreach (var record in pipeline.RunAsync(sources.ToAsyncEnumerable(), ct))
        {
            records.Add(record);
        }

        return records;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    private sealed class TrackedStream(byte[] bytes, Action onDispose) : MemoryStream(bytes, writable: false)
    {
        private int disposed;

        protected override void Dispose(bool disposing)
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                onDispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>An unseekable stream of zeros that never ends: the pipeline must stop reading at the cap.</summary>
    private sealed class EndlessStream : Stream
    {
        public long BytesRead { get; private set; }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            Array.Clear(buffer, offset, count);
            BytesRead += count;
            return count;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
