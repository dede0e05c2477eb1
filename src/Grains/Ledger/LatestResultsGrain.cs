using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Ledger;
using MobileNet.Orleans.Contracts.Storage;
using MobileNet.Orleans.Grains.Jobs;
using MobileNet.Orleans.Grains.Results;
using MobileNet.Orleans.Grains.Storage;
using Orleans.Concurrency;

namespace MobileNet.Orleans.Grains.Ledger;

/// <summary>
/// Signs read-only links to a source's newest labels for a model (key: <c>container/prefix</c>): the ledger of the
/// model's current version, its entry segments and its jobs' result blobs. Stateless, runs on the gateway silo.
/// </summary>
[StatelessWorker]
public sealed class LatestResultsGrain(ResultLinkSigner signer, JobStorage storage, LedgerStore store) : Grain, ILatestResultsGrain
{
    public async Task<LatestResultLinks> GetLatestLinksAsync(string modelName)
    {
        BlobPath source;
        try
        {
            source = BlobPath.Parse(this.GetPrimaryKeyString());
        }
        catch (FormatException ex)
        {
            throw new ArgumentException($"source: {ex.Message}", ex);
        }

        if (!JobSpecValidation.IsValidModelName(modelName))
        {
            throw new ArgumentException($"model name '{modelName}' must be 1-64 characters of lowercase letters, digits, '.', '_' or '-'");
        }

        var model = await SubmitChecks.PinModelAsync(storage.Coordinator, modelName, 1);
        var snapshot = await GrainFactory.GetGrain<ILabelLedgerGrain>(LabelLedgerKey.Of(source, model.Sha256)).GetSnapshotAsync()
            ?? throw new KeyNotFoundException($"no incremental job on '{source}' with model {modelName} (sha256 {model.Sha256[..12]}...) has completed yet");
        var segments = new List<string>(snapshot.Segments.Count);
        var expires = DateTimeOffset.MaxValue;
        foreach (var segment in snapshot.Segments)
        {
            var (link, until) = await signer.SignBlobAsync(store.ContainerName, segment.Blob);
            segments.Add(link);
            expires = until < expires ? until : expires;
        }

        var jobs = new List<LatestJobLinks>(snapshot.Jobs.Count);
        foreach (var job in snapshot.Jobs)
        {
            var links = await signer.SignAsync(job.Output, job.JobId, job.ShardCount);
            jobs.Add(new LatestJobLinks { JobId = job.JobId, Shards = links.Blobs });
            expires = links.ExpiresAt < expires ? links.ExpiresAt : expires;
        }

        return new LatestResultLinks
        {
            Source = snapshot.Source,
            ModelName = modelName,
            ModelSha256 = snapshot.ModelSha256,
            Entries = snapshot.Entries,
            Segments = segments,
            Jobs = jobs,
            ExpiresAt = expires == DateTimeOffset.MaxValue ? DateTimeOffset.UtcNow : expires,
            TopK = snapshot.Jobs.Count == 0 ? 1 : snapshot.Jobs.Max(j => j.TopK),
        };
    }
}
