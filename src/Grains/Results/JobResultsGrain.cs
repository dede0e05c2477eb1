using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Storage;
using Orleans.Concurrency;

namespace MobileNet.Orleans.Grains.Results;

/// <summary>Hands out read-only links to a job's result blobs (key: job id); stateless, runs on the gateway silo.</summary>
[StatelessWorker]
public sealed class JobResultsGrain(ResultLinkSigner signer) : Grain, IJobResultsGrain
{
    public async Task<ResultReadLinks> GetReadLinksAsync()
    {
        var jobId = this.GetPrimaryKeyString();
        JobId.Validate(jobId);
        // The coordinator knows where the job writes (and throws KeyNotFoundException for an unknown job).
        var status = await GrainFactory.GetGrain<IJobCoordinatorGrain>(jobId).GetStatusAsync();
        return await signer.SignAsync(status.Spec.Output, jobId, status.ShardsTotal);
    }
}
