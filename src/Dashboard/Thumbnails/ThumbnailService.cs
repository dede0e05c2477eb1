using System.Collections.Concurrent;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MobileNet.Inference;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Storage;
using MobileNet.Orleans.Dashboard.Hosting;
using MobileNet.Orleans.Grains.Storage;

namespace MobileNet.Orleans.Dashboard.Thumbnails;

/// <summary>A sample image of a job with its top-1 label, and its thumbnail (JPEG).</summary>
public sealed record JobThumbnail(int Index, string Image, string Label, float Score, byte[] Jpeg);

/// <summary>
/// A few sample thumbnails per job, made from the job's own images: the first labeled rows of its first result
/// blobs (finished shards), their images read from the job's source with the silo's storage identity (only where the
/// storage scope lets jobs read), rendered by <see cref="ThumbnailRenderer"/>. Bounded: at most
/// <see cref="WebDashboardOptions.Thumbnails"/> per job, each at most <see cref="WebDashboardOptions.ThumbnailSize"/>
/// pixels a side, for the <see cref="WebDashboardOptions.ThumbnailJobs"/> most recently viewed jobs; made once, in the
/// background, and kept. A job with too few finished shards yet is looked at again after a few seconds.
/// </summary>
public sealed partial class ThumbnailService(
    JobStorage storage,
    StorageScope scope,
    IOptions<WebDashboardOptions> options,
    TimeProvider time,
    ILogger<ThumbnailService> logger)
{
    private const long MaxResultBlobBytes = 4L * 1024 * 1024;
    private const long MaxImageBytes = 32L * 1024 * 1024;
    private const int ResultBlobsRead = 6;
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    private readonly WebDashboardOptions settings = options.Value;
    private readonly ThumbnailRenderer renderer = new();
    private readonly ConcurrentDictionary<string, JobSet> jobs = new(StringComparer.Ordinal);

    /// <summary>The thumbnails made so far; starts making more in the background when the job may have them.</summary>
    public IReadOnlyList<JobThumbnail> Get(JobStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        if (settings.Thumbnails == 0)
        {
            return [];
        }

        var set = jobs.GetOrAdd(status.JobId, _ => new JobSet());
        set.LastViewed = time.GetUtcNow();
        var done = status.ShardsDone > 0;
        if (done && set.Items.Count < settings.Thumbnails && time.GetUtcNow() - set.LastAttempt >= RetryAfter && Interlocked.CompareExchange(ref set.Busy, 1, 0) == 0)
        {
            set.LastAttempt = time.GetUtcNow();
            _ = Task.Run(() => FillAsync(status, set));
        }

        Trim();
        return set.Items;
    }

    public JobThumbnail? Find(string jobId, int index) =>
        jobs.TryGetValue(jobId, out var set) ? set.Items.FirstOrDefault(t => t.Index == index) : null;

    private async Task FillAsync(JobStatus status, JobSet set)
    {
        try
        {
            var spec = status.Spec;
            var folder = JobOutputLayout.ResultsFolder(spec.Output, status.JobId);
            var output = storage.Workers.GetBlobContainerClient(folder.Container);
            var source = storage.Workers.GetBlobContainerClient(spec.Source.Container);
            var seen = new HashSet<string>(set.Items.Select(i => i.Image), StringComparer.Ordinal);
            var wanted = settings.Thumbnails;
            var blobs = 0;
            await foreach (var blob in output.GetBlobsAsync(new GetBlobsOptions { Prefix = folder.Prefix }))
            {
                if (set.Items.Count >= wanted || blobs++ >= ResultBlobsRead)
                {
                    break;
                }

                if (blob.Properties.ContentLength is not { } length || length > MaxResultBlobBytes)
                {
                    continue;
                }

                // Spread over several shards: a share of the wanted count from each result blob (later tries take more).
                var fromThisBlob = (wanted + ResultBlobsRead - 1) / ResultBlobsRead;
                var content = await output.GetBlobClient(blob.Name).DownloadContentAsync();
                foreach (var record in ParseRows(content.Value.Content.ToString()).Where(r => r.Succeeded && r.Labels.Count > 0 && !seen.Contains(r.Image)).Take(fromThisBlob))
                {
                    if (set.Items.Count >= wanted)
                    {
                        break;
                    }

                    seen.Add(record.Image);
                    if (await RenderAsync(source, record) is { } jpeg)
                    {
                        var top = record.Labels[0];
                        set.Add(new JobThumbnail(set.Items.Count, record.Image, top.Label, top.Score, jpeg));
                    }
                }
            }
        }
        catch (Exception ex) when (ex is RequestFailedException or IOException or OperationCanceledException or FormatException)
        {
            LogFailed(logger, ex, status.JobId);
        }
        finally
        {
            Volatile.Write(ref set.Busy, 0);
        }
    }

    private async Task<byte[]?> RenderAsync(BlobContainerClient source, LabelingRecord record)
    {
        // Defence in depth: the job was checked at submit, but never read outside what jobs may read.
        if (!scope.CanRead(source.Name, record.Image))
        {
            return null;
        }

        var blob = source.GetBlobClient(record.Image);
        try
        {
            var properties = await blob.GetPropertiesAsync();
            if (properties.Value.ContentLength > MaxImageBytes)
            {
                return null;
            }

            var bytes = (await blob.DownloadContentAsync()).Value.Content.ToMemory();
            return renderer.TryRender(bytes.Span, settings.ThumbnailSize, 80, out var jpeg, out _) ? jpeg : null;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    private static IEnumerable<LabelingRecord> ParseRows(string content)
    {
        foreach (var line in content.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            LabelingRecord? record;
            try
            {
                record = LabelingRecordFormat.ParseJsonLine(line);
            }
            catch (FormatException)
            {
                record = null;
            }

            if (record is not null)
            {
                yield return record;
            }
        }
    }

    /// <summary>Keeps the most recently viewed jobs' thumbnails only.</summary>
    private void Trim()
    {
        if (jobs.Count <= settings.ThumbnailJobs)
        {
            return;
        }

        foreach (var (job, _) in jobs.OrderBy(j => j.Value.LastViewed).Take(jobs.Count - settings.ThumbnailJobs).ToArray())
        {
            jobs.TryRemove(job, out _);
        }
    }

    private sealed class JobSet
    {
        private IReadOnlyList<JobThumbnail> items = [];

        public int Busy;

        public DateTimeOffset LastAttempt { get; set; } = DateTimeOffset.MinValue;

        public DateTimeOffset LastViewed { get; set; }

        /// <summary>Replaced whole on each addition (one writer at a time), so readers never see a list change.</summary>
        public IReadOnlyList<JobThumbnail> Items => Volatile.Read(ref items);

        public void Add(JobThumbnail thumbnail) => Volatile.Write(ref items, [.. Items, thumbnail]);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dashboard: could not make sample thumbnails for job {JobId}; will try again")]
    private static partial void LogFailed(ILogger logger, Exception exception, string jobId);
}
