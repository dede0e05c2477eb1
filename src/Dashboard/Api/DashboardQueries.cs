using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Options;
using MobileNet.Orleans.Contracts.Cluster;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Dashboard.Hosting;
using MobileNet.Orleans.Dashboard.Thumbnails;

namespace MobileNet.Orleans.Dashboard.Api;

/// <summary>
/// The JSON behind the pages, each answer serialized once and served to every open page for
/// <see cref="WebDashboardOptions.CacheDuration"/> (<see cref="SnapshotCache{T}"/>). Ended jobs never change, so their
/// statuses are kept (a bounded number) and only active jobs are asked again.
/// </summary>
public sealed class DashboardQueries(
    IGrainFactory grains,
    ThumbnailService thumbnails,
    IOptions<WebDashboardOptions> options,
    TimeProvider time,
    IEnumerable<IJobReviewQueueCount> reviewQueues)
{
    public const int ListedJobs = 100;
    private const int KeptEndedJobs = 1024;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly WebDashboardOptions settings = options.Value;
    private readonly SnapshotCache<byte[]?> cache = new(options.Value.CacheDuration, time);
    private readonly ConcurrentDictionary<string, JobStatus> ended = new(StringComparer.Ordinal);
    private readonly IJobReviewQueueCount? reviewQueue = reviewQueues.LastOrDefault();

    public async Task<byte[]> JobsAsync() => (await cache.GetAsync("jobs", async () => Serialize(await BuildJobsAsync())))!;

    /// <summary>Null for a job nobody submitted.</summary>
    public Task<byte[]?> JobAsync(string jobId) => cache.GetAsync("job/" + jobId, async () => await BuildJobAsync(jobId) is { } job ? Serialize(job) : null);

    public async Task<byte[]> ClusterAsync() => (await cache.GetAsync("cluster", async () => Serialize(await BuildClusterAsync())))!;

    public JobThumbnail? Thumbnail(string jobId, int index) => thumbnails.Find(jobId, index);

    private async Task<object> BuildJobsAsync()
    {
        var entries = await grains.GetGrain<IJobRegistryGrain>(0).GetRecentJobsAsync(ListedJobs);
        var statuses = await Task.WhenAll(entries.Select(e => StatusAsync(e.JobId)));
        var now = time.GetUtcNow();
        return new
        {
            generatedAt = now,
            refreshSeconds = settings.RefreshInterval.TotalSeconds,
            jobs = statuses.OfType<JobStatus>().OrderByDescending(s => s.SubmittedAt).Select(s => new
            {
                jobId = s.JobId,
                state = s.State.ToString(),
                model = s.Spec.ModelName,
                totalImages = s.TotalImages,
                listingComplete = s.ListingComplete,
                labeled = s.Labeled,
                errors = s.Errors,
                progress = Progress(s),
                imagesPerSecond = s.ImagesPerSecond,
                etaSeconds = s.Eta?.TotalSeconds,
                submittedAt = s.SubmittedAt,
                ageSeconds = (now - s.SubmittedAt).TotalSeconds,
            }),
        };
    }

    private async Task<object?> BuildJobAsync(string jobId)
    {
        if (await StatusAsync(jobId) is not { } s)
        {
            return null;
        }

        var coordinator = grains.GetGrain<IJobCoordinatorGrain>(jobId);
        var history = await coordinator.GetThroughputHistoryAsync();
        long? pendingReviews = reviewQueue is null ? null : await reviewQueue.PendingAsync(s, CancellationToken.None);
        var efficiency = JobEfficiency.Of(s, settings.NodePricePerHour);
        var processed = s.Labeled + s.Errors;
        var now = time.GetUtcNow();
        return new
        {
            generatedAt = now,
            refreshSeconds = settings.RefreshInterval.TotalSeconds,
            jobId = s.JobId,
            state = s.State.ToString(),
            model = new { name = s.Spec.ModelName, sha256 = s.Model?.Sha256 },
            source = s.Spec.Source.ToString(),
            output = s.Spec.Output.ToString(),
            submittedAt = s.SubmittedAt,
            startedAt = s.StartedAt,
            endedAt = s.EndedAt,
            ageSeconds = (now - s.SubmittedAt).TotalSeconds,
            failureReason = s.FailureReason,
            totalImages = s.TotalImages,
            listingComplete = s.ListingComplete,
            labeled = s.Labeled,
            errors = s.Errors,
            processed,
            progress = Progress(s),
            imagesPerSecond = s.ImagesPerSecond,
            etaSeconds = s.Eta?.TotalSeconds,
            shards = new { total = s.ShardsTotal, done = s.ShardsDone, running = s.ShardsRunning, pending = s.ShardsPending, failed = s.ShardsFailed, redispatched = s.ShardsRedispatched },
            silos = s.Silos.Select(silo => new
            {
                silo = silo.Silo,
                labeled = silo.Labeled,
                errors = silo.Errors,
                share = processed > 0 ? (double)(silo.Labeled + silo.Errors) / processed : 0,
                imagesPerSecond = silo.ImagesPerSecond,
                cores = silo.Cores,
                cpuSecondsPer1000Images = silo.AccountedImages > 0 ? silo.CpuSeconds * 1000 / silo.AccountedImages : (double?)null,
                imagesPerSecondPerCore = silo.Cores > 0 && silo.ImagesPerSecond > 0 ? silo.ImagesPerSecond / silo.Cores : (double?)null,
            }),
            errorClasses = s.ErrorClasses.Select(e => new { code = e.Code, count = e.Count, examples = e.Examples }),
            efficiency = new
            {
                cpuSecondsPer1000Images = efficiency.CpuSecondsPer1000Images,
                imagesPerSecondPerCore = efficiency.ImagesPerSecondPerCore,
                nodes = efficiency.Nodes,
                cores = efficiency.Cores,
                nodePricePerHour = efficiency.NodePricePerHour,
                costPer1000Images = efficiency.CostPer1000Images,
                projectedRemainingCost = efficiency.ProjectedRemainingCost,
            },
            history = history.Select(h => new { t = h.At.ToUnixTimeMilliseconds(), processed = h.Processed }),
            thumbnails = thumbnails.Get(s).Select(t => new
            {
                index = t.Index,
                image = t.Image,
                label = t.Label,
                score = t.Score,
                url = $"{DashboardPaths.Api}/jobs/{Uri.EscapeDataString(s.JobId)}/thumbnails/{t.Index}",
            }),
            reviewQueue = pendingReviews is { } pending ? new { pending } : null,
        };
    }

    private async Task<object> BuildClusterAsync()
    {
        var silos = await grains.GetGrain<IClusterStatsGrain>(0).GetSilosAsync();
        return new
        {
            generatedAt = time.GetUtcNow(),
            refreshSeconds = settings.RefreshInterval.TotalSeconds,
            silos = silos.Select(s => new
            {
                silo = s.Silo,
                address = s.Address,
                cores = s.Cores,
                slots = s.Slots,
                runningShards = s.RunningShards,
                draining = s.Draining,
                cpuUtilization = s.CpuUtilization,
                cpuSeconds = s.CpuSeconds,
                imagesProcessed = s.ImagesProcessed,
                models = s.Models.Select(m => new { name = m.Name, sha256 = m.Sha256, sizeBytes = m.SizeBytes, users = m.Users }),
                cacheMemoryBytes = s.CacheMemoryBytes,
                cacheMemoryBudgetBytes = s.CacheMemoryBudgetBytes,
                cacheDiskBytes = s.CacheDiskBytes,
                cacheDiskBudgetBytes = s.CacheDiskBudgetBytes,
                startedAt = s.StartedAt,
                reportedAt = s.ReportedAt,
            }),
        };
    }

    private async Task<JobStatus?> StatusAsync(string jobId)
    {
        if (ended.TryGetValue(jobId, out var known))
        {
            return known;
        }

        JobStatus status;
        try
        {
            status = await grains.GetGrain<IJobCoordinatorGrain>(jobId).GetStatusAsync();
        }
        catch (KeyNotFoundException)
        {
            return null;
        }

        // Kept once its end is recorded: nothing about it changes after that (late usage reports come before the end).
        if (status.IsTerminal && status.EndedAt is { } endedAt && time.GetUtcNow() - endedAt > TimeSpan.FromSeconds(10))
        {
            if (ended.Count >= KeptEndedJobs)
            {
                ended.Clear();
            }

            ended[jobId] = status;
        }

        return status;
    }

    private static double? Progress(JobStatus s) =>
        s.ListingComplete && s.TotalImages > 0 ? Math.Min(1, (double)(s.Labeled + s.Errors) / s.TotalImages) : s.IsTerminal ? 1 : null;

    private static byte[] Serialize(object value) => JsonSerializer.SerializeToUtf8Bytes(value, Json);
}
