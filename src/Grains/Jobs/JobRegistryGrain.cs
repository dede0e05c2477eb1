using Microsoft.Extensions.Logging;
using MobileNet.Orleans.Contracts.Jobs;

namespace MobileNet.Orleans.Grains.Jobs;

/// <summary>
/// The cluster's job list (one instance, key 0), persisted so that workers find active jobs again after every silo
/// restarted. Small: recent jobs are capped; active jobs are never dropped.
/// </summary>
public sealed partial class JobRegistryGrain(
    [PersistentState("registry", "registry")] IPersistentState<JobRegistryState> store,
    ILogger<JobRegistryGrain> logger) : Grain, IJobRegistryGrain
{
    public const int MaxRecentJobs = 500;

    // A change whose write failed (storage down): the next call writes it, even if it changes nothing itself.
    private bool unsaved;

    public async Task RegisterAsync(JobEntry job)
    {
        ArgumentNullException.ThrowIfNull(job);
        JobId.Validate(job.JobId);
        var state = store.State;
        var changed = false;
        if (!state.Jobs.Exists(j => j.JobId == job.JobId))
        {
            state.Jobs.Add(job);
            state.Jobs.Sort((a, b) => a.SubmittedAt.CompareTo(b.SubmittedAt));
            changed = true;
        }

        changed |= state.Active.Add(job.JobId);
        // Forget the oldest ended jobs beyond the cap; active ones stay whatever their age.
        for (var i = 0; state.Jobs.Count > MaxRecentJobs && i < state.Jobs.Count;)
        {
            if (state.Active.Contains(state.Jobs[i].JobId))
            {
                i++;
            }
            else
            {
                state.Jobs.RemoveAt(i);
                changed = true;
            }
        }

        if (changed || unsaved)
        {
            await SaveAsync();
            LogRegistered(logger, job.JobId, state.Active.Count);
        }
    }

    public async Task MarkEndedAsync(string jobId)
    {
        if (store.State.Active.Remove(jobId) || unsaved)
        {
            await SaveAsync();
        }
    }

    public Task<IReadOnlyList<string>> GetActiveJobsAsync() =>
        Task.FromResult<IReadOnlyList<string>>(store.State.Active.Order(StringComparer.Ordinal).ToArray());

    public Task<IReadOnlyList<JobEntry>> GetRecentJobsAsync(int max)
    {
        var jobs = store.State.Jobs;
        var count = Math.Clamp(max, 0, jobs.Count);
        var recent = new JobEntry[count];
        for (var i = 0; i < count; i++)
        {
            recent[i] = jobs[jobs.Count - 1 - i];
        }

        return Task.FromResult<IReadOnlyList<JobEntry>>(recent);
    }

    private async Task SaveAsync()
    {
        unsaved = true;
        await store.WriteStateAsync();
        unsaved = false;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} registered; {Active} active jobs")]
    private static partial void LogRegistered(ILogger logger, string jobId, int active);
}

[GenerateSerializer, Alias("mobilenet.job-registry-state")]
public sealed class JobRegistryState
{
    /// <summary>Oldest first.</summary>
    [Id(0)] public List<JobEntry> Jobs { get; set; } = [];

    [Id(1)] public HashSet<string> Active { get; set; } = new(StringComparer.Ordinal);
}
