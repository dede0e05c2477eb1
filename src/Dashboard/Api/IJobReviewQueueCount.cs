using MobileNet.Orleans.Contracts.Jobs;

namespace MobileNet.Orleans.Dashboard.Api;

/// <summary>
/// Extension point for review queues: the job page shows a review-queue tile when a registered implementation
/// answers a count for the job (null: the job has no review queue). The contracts have no review queue yet, so the
/// dashboard registers none; the feature that adds them registers one (<c>services.AddSingleton&lt;IJobReviewQueueCount, ...&gt;()</c>).
/// </summary>
public interface IJobReviewQueueCount
{
    Task<long?> PendingAsync(JobStatus status, CancellationToken cancellationToken);
}
