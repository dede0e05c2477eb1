using MobileNet.Orleans.Contracts.Security;
using Orleans.Concurrency;

namespace MobileNet.Orleans.Contracts.Jobs;

/// <summary>The cluster's list of jobs (single instance, key 0): recent jobs for <c>mobilenet jobs</c>, active ones for the workers.</summary>
[Alias("mobilenet.job-registry")]
public interface IJobRegistryGrain : IGrainWithIntegerKey
{
    [Alias("register"), RequiresRole(CallerRole.Silo)]
    Task RegisterAsync(JobEntry job);

    [Alias("ended"), RequiresRole(CallerRole.Silo)]
    Task MarkEndedAsync(string jobId);

    /// <summary>Jobs that may still have shards to hand out.</summary>
    [Alias("active"), RequiresRole(CallerRole.Silo), AlwaysInterleave]
    Task<IReadOnlyList<string>> GetActiveJobsAsync();

    [Alias("recent"), RequiresRole(CallerRole.Reader), AlwaysInterleave]
    Task<IReadOnlyList<JobEntry>> GetRecentJobsAsync(int max);
}
