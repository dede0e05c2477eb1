using MobileNet.Orleans.Contracts.Jobs;

namespace MobileNet.Orleans.Grains.Jobs;

/// <summary>What a submit checks for a retry: the job it retries exists, has ended, and shares its source, output and model.</summary>
internal static class DataProductChecks
{
    public static async Task<JobStatus> RetryParentAsync(IGrainFactory grains, JobSpec spec, string parent)
    {
        JobStatus status;
        try
        {
            status = await grains.GetGrain<IJobCoordinatorGrain>(parent).GetStatusAsync();
        }
        catch (KeyNotFoundException ex)
        {
            throw new ArgumentException($"job to retry '{parent}' is not known to the cluster", ex);
        }

        if (!status.IsTerminal)
        {
            throw new ArgumentException($"job {parent} is still {status.State}: retry it once it has ended");
        }

        if (status.Spec.Source != spec.Source || status.Spec.Output != spec.Output || status.Spec.ModelName != spec.ModelName)
        {
            throw new ArgumentException($"a retry of {parent} must use its source ({status.Spec.Source}), output ({status.Spec.Output}) and model ({status.Spec.ModelName})");
        }

        if (status.Model is null)
        {
            throw new ArgumentException($"job {parent} has no pinned model version to retry with");
        }

        return status;
    }
}
