using MobileNet.Orleans.Contracts.Security;
using Orleans.Concurrency;

namespace MobileNet.Orleans.Contracts.Jobs;

/// <summary>
/// One per job (key: job id). Owns the job's durable state (spec, shards, progress) and hands shards to silos as
/// short leases. Every call is short; long work runs on the workers, which renew and report back.
/// </summary>
[Alias("mobilenet.job-coordinator")]
public interface IJobCoordinatorGrain : IGrainWithStringKey
{
    /// <summary>Starts the job; idempotent for the same spec (a retried submit does not start a second job).</summary>
    [Alias("submit"), RequiresRole(CallerRole.Submitter)]
    Task<JobStatus> SubmitAsync(JobSpec spec);

    /// <summary>Interleaves with the coordinator's storage work so status stays responsive; throws <see cref="KeyNotFoundException"/> for an unknown job.</summary>
    [Alias("status"), RequiresRole(CallerRole.Reader), AlwaysInterleave]
    Task<JobStatus> GetStatusAsync();

    /// <summary>Stops dispatching and tells running shards to stop at their next renewal; keeps what is done.</summary>
    [Alias("cancel"), RequiresRole(CallerRole.Submitter)]
    Task<JobStatus> CancelAsync();

    /// <summary>
    /// Hands up to <paramref name="maxShards"/> pending shards to <paramref name="silo"/>, stored before it returns.
    /// Interleaves so that lease calls arriving during one storage write share the next one.
    /// </summary>
    [Alias("lease"), AlwaysInterleave, RequiresRole(CallerRole.Silo)]
    Task<IReadOnlyList<ShardLease>> LeaseShardsAsync(string silo, int maxShards);

    /// <summary>Interleaves (no I/O inside) so a slow storage turn on the coordinator never makes live leases expire.</summary>
    [Alias("renew"), RequiresRole(CallerRole.Silo), AlwaysInterleave]
    Task<LeaseVerdict> RenewLeaseAsync(ShardLeaseRef lease, ShardProgress progress);

    /// <summary>The shard's result blob is written; counts are final. Ignored for a stale lease.</summary>
    [Alias("complete"), RequiresRole(CallerRole.Silo)]
    Task CompleteShardAsync(ShardLeaseRef lease, ShardProgress outcome);

    /// <summary>The attempt failed; the shard is retried until its attempts are spent (throttling does not use one).</summary>
    [Alias("fail"), RequiresRole(CallerRole.Silo)]
    Task FailShardAsync(ShardLeaseRef lease, ShardAttemptFailure failure);

    /// <summary>The worker hands the shard back unfinished (silo draining); it does not count as an attempt.</summary>
    [Alias("release"), RequiresRole(CallerRole.Silo)]
    Task ReleaseShardAsync(ShardLeaseRef lease);

    /// <summary>A silo's CPU time and images for this job so far (totals); no I/O, kept in memory.</summary>
    [Alias("usage"), RequiresRole(CallerRole.Silo), AlwaysInterleave]
    Task ReportSiloUsageAsync(SiloJobUsage usage);

    /// <summary>Images processed over time since this coordinator activated (bounded: older points are thinned out).</summary>
    [Alias("history"), RequiresRole(CallerRole.Reader), AlwaysInterleave]
    Task<IReadOnlyList<ThroughputSample>> GetThroughputHistoryAsync();
}
