using System.Diagnostics;
using System.Text;
using Azure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MobileNet.Inference;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Grains.Accounting;
using MobileNet.Orleans.Contracts.Labels;
using MobileNet.Orleans.Grains.Diagnostics;
using MobileNet.Orleans.Grains.Models;
using MobileNet.Orleans.Grains.Resilience;
using MobileNet.Orleans.Grains.Storage;
using Polly;
using Polly.Registry;

namespace MobileNet.Orleans.Grains.Workers;

/// <summary>One leased shard being labeled on this silo.</summary>
internal sealed class RunningShard(ShardLease lease, CancellationToken abort) : IDisposable
{
    public ShardLease Lease { get; } = lease;

    /// <summary>Cancelled when the coordinator says stop, the lease is lost, the silo drains or the worker aborts.</summary>
    public CancellationTokenSource Cancellation { get; } = CancellationTokenSource.CreateLinkedTokenSource(abort);

    /// <summary>Set before cancelling on drain: the shard is handed back instead of abandoned.</summary>
    public volatile bool HandBack;

    public Task Completion { get; set; } = Task.CompletedTask;

    public void Dispose() => Cancellation.Dispose();
}

/// <summary>
/// Labels one shard: reads its manifest, streams its images from blob storage through the labeling pipeline while
/// renewing the lease, uploads the JSONL result blob whole (so a redone shard overwrites rather than duplicates),
/// then reports the counts. A failure fails only this attempt; the coordinator decides whether to retry.
/// </summary>
public sealed partial class ShardRunner(
    IGrainFactory grains,
    JobStorage storage,
    ModelCache models,
    JobMetrics metrics,
    SiloUsageMeter usage,
    JobUsageReporter usageReporter,
    BlobTagWriter tagWriter,
    IOptions<WorkerOptions> options,
    ResiliencePipelineProvider<string> pipelines,
    ILogger<ShardRunner> logger)
{
    private readonly WorkerOptions settings = options.Value;
    private readonly ResiliencePipeline reportPipeline = pipelines.GetPipeline(SiloResiliencePipelines.CoordinatorReport);

    internal async Task RunAsync(RunningShard run, CancellationToken abort)
    {
        var lease = run.Lease;
        var leaseRef = lease.Lease;
        var coordinator = grains.GetGrain<IJobCoordinatorGrain>(leaseRef.JobId);
        var progress = new ProgressCounter();
        var started = Stopwatch.StartNew();
        var token = run.Cancellation.Token;
        var sinceContinue = Stopwatch.StartNew();
        string? stopReason = null;
        using var renewStop = new CancellationTokenSource();
        var renewing = RenewLoopAsync();
        metrics.AddInFlight(lease.ImageCount);
        usage.ShardStarted(leaseRef.JobId);
        LogStarted(logger, leaseRef.JobId, leaseRef.ShardId, lease.Attempt, lease.ImageCount);
        try
        {
            // Exactly the version pinned at submit, whatever was uploaded since.
            var pin = lease.Model ?? await models.CurrentAsync(lease.ModelName, token);
            using var model = await models.AcquireAsync(pin, token);
            var classifier = model.Classifier;
            if (lease.TopK > classifier.Description.ClassCount)
            {
                throw new ModelUnavailableException(ModelUnavailableReason.Mismatch, $"top-k {lease.TopK} is more than model '{pin.Name}' has classes ({classifier.Description.ClassCount})");
            }

            var names = await ShardManifestFile.ReadAsync(
                storage.Workers.GetBlobContainerClient(lease.ManifestBlob.Container).GetBlobClient(lease.ManifestBlob.Prefix),
                new ManifestRange(lease.ManifestOffset, lease.ManifestLength),
                token);
            var images = storage.Workers.GetBlobContainerClient(lease.SourceContainer);
            var pipeline = new LabelingPipeline(classifier, new LabelingPipelineOptions
            {
                TopK = lease.TopK,
                BatchSize = settings.BatchSize,
                DecodeParallelism = settings.DecodeParallelism,
                ReadParallelism = settings.ReadParallelism,
                MaxImageBytes = settings.MaxImageBytes,
            });

            // Results are small (a few hundred bytes per image) and bounded by the shard size.
            var results = new StringBuilder(names.Count * 256);
            var errorClasses = new ShardErrorClasses();
            var sources = names.Select(name => BlobImageSources.Create(images, name, settings.MaxImageBytes)).ToAsyncEnumerable();
            var review = new ReviewRule(lease.ReviewBelow, lease.ReviewMargin);
            var toTag = lease.TagBlobs ? new List<(string Image, LabelScore Top)>(names.Count) : null;
            await foreach (var record in pipeline.RunAsync(sources, token))
            {
                results.Append(LabelingRecordFormat.ToJsonLine(record with { Model = pin.Sha256 })).Append(LabelingRecordFormat.LineTerminator);
                progress.Add(record.Succeeded);
                usage.ImageProcessed(leaseRef.JobId);
                if (record.Error is { } error)
                {
                    errorClasses.Add(error, record.Image);
                }

                if (record.Succeeded && record.Labels.Count > 0)
                {
                    toTag?.Add((record.Image, record.Labels[0]));
                    if (review.IsActive && review.Needs(record.Labels.Select(l => l.Score).ToArray()))
                    {
                        progress.AddForReview();
                    }
                }
            }

            if (toTag is not null)
            {
                // Before the result is written: a shard whose tagging is cut short is redone whole, and tagging again is harmless.
                await Parallel.ForEachAsync(toTag, new ParallelOptions { MaxDegreeOfParallelism = settings.ReadParallelism, CancellationToken = token }, async (item, ct) =>
                {
                    var tags = BlobLabelTags.For(item.Top.Label, item.Top.Score, pin.Name, pin.Sha256, leaseRef.JobId);
                    if (await tagWriter.WriteAsync(images.GetBlobClient(item.Image), tags, ct) != TagOutcome.Tagged)
                    {
                        progress.AddTagSkipped();
                    }
                });
            }

            if (progress.Processed != names.Count)
            {
                throw new InvalidOperationException($"the pipeline returned {progress.Processed} records for {names.Count} images");
            }

            // Write only while the lease is still ours: a shard redone elsewhere meanwhile must not be overwritten late.
            LeaseVerdict verdict;
            try
            {
                verdict = await coordinator.RenewLeaseAsync(leaseRef, progress.Snapshot()).WaitAsync(settings.CallTimeout, token);
            }
            catch (Exception ex) when (ex is not OperationCanceledException && sinceContinue.Elapsed < lease.LeaseDuration / 2)
            {
                // Coordinator briefly unreachable (moving after its silo died) but the lease was confirmed recently.
                verdict = LeaseVerdict.Continue;
            }

            if (verdict == LeaseVerdict.Stop)
            {
                LogStopped(logger, leaseRef.JobId, leaseRef.ShardId, "the coordinator withdrew the lease before the result was written");
                return;
            }

            await storage.Workers.GetBlobContainerClient(lease.ResultBlob.Container).GetBlobClient(lease.ResultBlob.Prefix)
                .UploadAsync(BinaryData.FromString(results.ToString()), overwrite: true, token);
            var outcome = progress.Snapshot() with { ErrorClasses = errorClasses.ToList() };
            // Completion first: a usage round trip before it would widen the window in which a job that fails on its
            // error threshold ends while this shard's rows are written but not yet counted.
            await ReportAsync(leaseRef.JobId, () => coordinator.CompleteShardAsync(leaseRef, outcome), abort);
            // Counted once the coordinator has it: a slow usage round trip must not hold the silo's metrics back.
            metrics.ShardCompleted(leaseRef.JobId, outcome.Labeled, outcome.Errors, started.Elapsed);
            await usageReporter.ReportJobNowAsync(leaseRef.JobId, abort);
            LogCompleted(logger, leaseRef.JobId, leaseRef.ShardId, outcome.Labeled, outcome.Errors, started.Elapsed.TotalSeconds);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            if (run.HandBack && !abort.IsCancellationRequested)
            {
                await TryAsync(() => coordinator.ReleaseShardAsync(leaseRef), "hand back");
                LogStopped(logger, leaseRef.JobId, leaseRef.ShardId, "handed back: the silo is draining");
            }
            else
            {
                LogStopped(logger, leaseRef.JobId, leaseRef.ShardId, stopReason ?? "the worker stopped");
            }
        }
        catch (Exception ex)
        {
            var failure = ShardFailureClassifier.Classify(ex);
            metrics.ShardAttemptFailed(leaseRef.JobId);
            LogAttemptFailed(logger, ex, leaseRef.JobId, leaseRef.ShardId, lease.Attempt, failure.Kind, failure.Reason);
            await TryAsync(() => coordinator.FailShardAsync(leaseRef, failure), "report failure");
        }
        finally
        {
            await renewStop.CancelAsync();
            await renewing;
            metrics.AddInFlight(-lease.ImageCount);
            usage.ShardEnded(leaseRef.JobId);
        }

        async Task RenewLoopAsync()
        {
            var firstReported = false;
            while (true)
            {
                try
                {
                    if (firstReported)
                    {
                        await Task.Delay(settings.LeaseRenewInterval, renewStop.Token);
                    }
                    else
                    {
                        // The first images are reported as soon as they are labeled, not a renew interval later, so
                        // status shows a silo that just joined at work within seconds.
                        await Task.WhenAny(progress.FirstRecord, Task.Delay(settings.LeaseRenewInterval, renewStop.Token));
                        renewStop.Token.ThrowIfCancellationRequested();
                        firstReported = progress.Processed > 0;
                    }

                    var verdict = await coordinator.RenewLeaseAsync(leaseRef, progress.Snapshot()).WaitAsync(settings.CallTimeout, renewStop.Token);
                    if (verdict == LeaseVerdict.Stop)
                    {
                        stopReason = "the coordinator said stop (job cancelled or failed, or the shard was given to another silo)";
                        await run.Cancellation.CancelAsync();
                        return;
                    }

                    sinceContinue.Restart();
                }
                catch (OperationCanceledException) when (renewStop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    LogRenewFailed(logger, ex, leaseRef.JobId, leaseRef.ShardId);
                    if (sinceContinue.Elapsed > lease.LeaseDuration)
                    {
                        stopReason = "lease lost: the coordinator could not be reached for a whole lease period";
                        await run.Cancellation.CancelAsync();
                        return;
                    }
                }
            }
        }
    }

    /// <summary>Reports to the coordinator with a few retries (<see cref="SiloResiliencePipelines.CoordinatorReport"/>): a completion lost here costs a redo, not correctness.</summary>
    private async Task ReportAsync(string jobId, Func<Task> call, CancellationToken abort)
    {
        var context = ResilienceContextPool.Shared.Get(jobId, abort);
        try
        {
            await reportPipeline.ExecuteAsync(static async (ctx, call) => await call().WaitAsync(ctx.CancellationToken).ConfigureAwait(false), context, call);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private async Task TryAsync(Func<Task> call, string what)
    {
        try
        {
            await call().WaitAsync(settings.CallTimeout);
        }
        catch (Exception ex)
        {
            // The lease will expire and the coordinator redoes the shard: nothing is lost.
            LogReportFailed(logger, ex, what);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} shard {ShardId}: attempt {Attempt} started ({Images} images)")]
    private static partial void LogStarted(ILogger logger, string jobId, int shardId, int attempt, int images);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} shard {ShardId}: {Labeled} labeled, {Errors} errors in {Seconds:F1} s")]
    private static partial void LogCompleted(ILogger logger, string jobId, int shardId, int labeled, int errors, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} shard {ShardId}: stopped: {Reason}")]
    private static partial void LogStopped(ILogger logger, string jobId, int shardId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} shard {ShardId}: attempt {Attempt} failed ({Kind}): {Reason}")]
    private static partial void LogAttemptFailed(ILogger logger, Exception exception, string jobId, int shardId, int attempt, ShardFailureKind kind, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} shard {ShardId}: lease renewal failed")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception, string jobId, int shardId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not {What} to the coordinator; its lease will expire and the shard be redone")]
    private static partial void LogReportFailed(ILogger logger, Exception exception, string what);
}

/// <summary>A shard's error rows by code, with the first few image names of each (sent with the completion).</summary>
internal sealed class ShardErrorClasses
{
    private readonly Dictionary<string, (int Count, List<string> Examples)> classes = new(StringComparer.Ordinal);

    public void Add(string error, string image)
    {
        var code = ErrorClass.CodeOf(error);
        if (!classes.TryGetValue(code, out var entry))
        {
            if (classes.Count >= ErrorClass.MaxClasses)
            {
                code = "other";
                entry = classes.GetValueOrDefault(code, (0, []));
            }
            else
            {
                entry = (0, []);
            }
        }

        if (entry.Examples.Count < ErrorClass.MaxExamples)
        {
            entry.Examples.Add(image);
        }

        classes[code] = (entry.Count + 1, entry.Examples);
    }

    public IReadOnlyList<ErrorClass> ToList() =>
        [.. classes.Select(c => new ErrorClass { Code = c.Key, Count = c.Value.Count, Examples = [.. c.Value.Examples] })];
}

/// <summary>Counts a shard's records; read by the renewal loop while the pipeline adds to it.</summary>
internal sealed class ProgressCounter
{
    private readonly TaskCompletionSource firstRecord = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int labeled;
    private int errors;
    private int forReview;
    private int tagsSkipped;

    /// <summary>Completes when the first image (labeled or not) is counted.</summary>
    public Task FirstRecord => firstRecord.Task;

    public int Processed => Volatile.Read(ref labeled) + Volatile.Read(ref errors);

    public void Add(bool succeeded)
    {
        if (succeeded)
        {
            Interlocked.Increment(ref labeled);
        }
        else
        {
            Interlocked.Increment(ref errors);
        }

        firstRecord.TrySetResult();
    }

    public void AddForReview() => Interlocked.Increment(ref forReview);

    public void AddTagSkipped() => Interlocked.Increment(ref tagsSkipped);

    public ShardProgress Snapshot()
    {
        var l = Volatile.Read(ref labeled);
        var e = Volatile.Read(ref errors);
        return new ShardProgress { Processed = l + e, Labeled = l, Errors = e, ForReview = Volatile.Read(ref forReview), TagsSkipped = Volatile.Read(ref tagsSkipped) };
    }
}
