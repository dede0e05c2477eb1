using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using MobileNet.Orleans.Contracts.Ledger;
using MobileNet.Orleans.Contracts.Storage;
using MobileNet.Orleans.Grains.Storage;
using Orleans.Storage;

namespace MobileNet.Orleans.Grains.Ledger;

/// <summary>
/// One ledger (key: <see cref="LabelLedgerKey.Of"/>). Persists and schedules while <see cref="LedgerMerge"/> decides:
/// a commit streams the stored entries and the job's manifests through the merge into a new version's segments, then
/// writes the header on the ETag it read. The merge runs in the background of the grain (commits of big ledgers
/// outlast a call timeout); the coordinator asks again until it hears committed, and a commit is idempotent per job,
/// so a silo lost mid-merge costs one redo.
/// </summary>
public sealed partial class LabelLedgerGrain(LedgerStore store, JobStorage storage, ILogger<LabelLedgerGrain> logger) : Grain, ILabelLedgerGrain
{
    /// <summary>Job ids remembered as committed (the newest), so an old job's retried commit is still recognised.</summary>
    private const int CommittedHistory = 1000;

    private Task? merging;
    private string? mergingJob;

    private string LedgerId => this.GetPrimaryKeyString();

    public async Task<bool> CommitAsync(LedgerCommit commit)
    {
        ArgumentNullException.ThrowIfNull(commit);
        if (LabelLedgerKey.Of(commit.Source, commit.ModelSha256) != LedgerId)
        {
            throw new ArgumentException($"commit of job {commit.JobId} names another ledger than {LedgerId}");
        }

        var stored = await store.ReadHeaderAsync(LedgerId, CancellationToken.None);
        var commitId = commit.CommitId ?? commit.JobId;
        if (stored?.Value.Committed.Contains(commitId) == true)
        {
            return true;
        }

        if (merging is { IsCompleted: false })
        {
            // One merge at a time; another job's commit waits for its turn.
            return false;
        }

        if (merging is { IsFaulted: true } && mergingJob == commitId)
        {
            LogMergeFailed(logger, merging.Exception!.GetBaseException(), LedgerId, commitId);
        }

        mergingJob = commitId;
        merging = MergeAsync(commit);
        return false;
    }

    public async Task<LedgerSnapshot?> GetSnapshotAsync() => (await store.ReadHeaderAsync(LedgerId, CancellationToken.None))?.Value;

    private async Task MergeAsync(LedgerCommit commit)
    {
        var stored = await store.ReadHeaderAsync(LedgerId, CancellationToken.None);
        var old = stored?.Value;
        var version = (old?.Version ?? 0) + 1;
        var segments = new List<LedgerSegmentRef>();
        var buffer = new List<LedgerEntry>(LedgerStore.SegmentSize);
        var perJob = new Dictionary<string, long>(StringComparer.Ordinal);
        long total = 0;

        async Task FlushAsync()
        {
            var blob = LedgerStore.SegmentBlob(LedgerId, version, segments.Count);
            await store.WriteSegmentAsync(blob, buffer, CancellationToken.None);
            segments.Add(new LedgerSegmentRef { Blob = blob, FirstName = buffer[0].Name, Count = buffer.Count });
            buffer.Clear();
        }

        await foreach (var entry in LedgerMerge.MergeAsync(store.ReadEntriesAsync(old, CancellationToken.None), JobEntriesAsync(commit)))
        {
            buffer.Add(entry);
            perJob[entry.JobId] = perJob.GetValueOrDefault(entry.JobId) + 1;
            total++;
            if (buffer.Count == LedgerStore.SegmentSize)
            {
                await FlushAsync();
            }
        }

        if (buffer.Count > 0)
        {
            await FlushAsync();
        }

        var known = (old?.Jobs ?? []).Where(j => j.JobId != commit.JobId).Append(new LedgerJob { JobId = commit.JobId, Output = commit.Output, ShardCount = commit.ShardCount, TopK = commit.TopK });
        var snapshot = new LedgerSnapshot
        {
            Source = commit.Source,
            ModelSha256 = commit.ModelSha256,
            Version = version,
            // Jobs no entry points at any more are dropped: results --latest reads only what it needs.
            Jobs = known.Where(j => perJob.ContainsKey(j.JobId)).Select(j => j with { Entries = perJob[j.JobId] }).ToArray(),
            Segments = segments,
            Entries = total,
            Committed = (old?.Committed ?? []).Append(commit.CommitId ?? commit.JobId).TakeLast(CommittedHistory).ToArray(),
        };
        try
        {
            await store.WriteHeaderAsync(LedgerId, snapshot, stored?.ETag, CancellationToken.None);
        }
        catch (InconsistentStateException)
        {
            // Another activation committed meanwhile (a split during a membership change): the next ask merges again.
            await store.DeleteVersionAsync(LedgerId, version, CancellationToken.None);
            throw;
        }

        LogCommitted(logger, LedgerId, commit.JobId, version, total);
        if (version > 2)
        {
            await store.DeleteVersionAsync(LedgerId, version - 2, CancellationToken.None);
        }
    }

    /// <summary>The job's names in manifest order (= name order for a listing or a retry), with ETags when it listed them.</summary>
    private async IAsyncEnumerable<LedgerEntry> JobEntriesAsync(LedgerCommit commit)
    {
        var container = storage.Coordinator.GetBlobContainerClient(commit.Output.Container);
        // Manifest groups are named by their first shard, zero-padded: listing order is shard order.
        var folder = JobOutputLayout.JobFolder(commit.Output, commit.JobId) + "shards/";
        await foreach (var item in container.GetBlobsAsync(new GetBlobsOptions { Prefix = folder }))
        {
            if (!item.Name.EndsWith(".txt", StringComparison.Ordinal)
                || !int.TryParse(item.Name.AsSpan(folder.Length, item.Name.Length - folder.Length - ".txt".Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var group)
                || group < commit.FromShard)
            {
                continue;
            }

            var names = await ShardManifestFile.ReadAsync(container.GetBlobClient(item.Name), CancellationToken.None);
            var etags = commit.HasETags
                ? await ShardManifestFile.ReadAsync(container.GetBlobClient(item.Name[..^".txt".Length] + ".etags"), CancellationToken.None)
                : null;
            if (etags is not null && etags.Count != names.Count)
            {
                throw new InvalidDataException($"job {commit.JobId}: manifest {item.Name} has {names.Count} names but {etags.Count} ETags");
            }

            for (var i = 0; i < names.Count; i++)
            {
                yield return new LedgerEntry(names[i], etags?[i], commit.JobId);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Ledger {LedgerId}: job {JobId} committed as version {Version} ({Entries} entries)")]
    private static partial void LogCommitted(ILogger logger, string ledgerId, string jobId, int version, long entries);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ledger {LedgerId}: merging job {JobId} failed; merging again")]
    private static partial void LogMergeFailed(ILogger logger, Exception exception, string ledgerId, string jobId);
}
