using System.Diagnostics;
using Azure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Ledger;
using MobileNet.Orleans.Contracts.Models;
using MobileNet.Orleans.Contracts.Storage;
using MobileNet.Orleans.Grains.Diagnostics;
using MobileNet.Orleans.Grains.Jobs.Ledger;
using MobileNet.Orleans.Grains.Jobs.Progress;
using MobileNet.Orleans.Grains.Jobs.State;
using MobileNet.Orleans.Grains.Resilience;
using MobileNet.Orleans.Grains.Ledger;
using MobileNet.Orleans.Grains.Storage;
using Orleans.Concurrency;
using Polly;
using Polly.Registry;
using Orleans.Runtime;
using Orleans.Storage;

namespace MobileNet.Orleans.Grains.Jobs;

/// <summary>
/// Owns one job (key: job id): persists and schedules while <see cref="ShardLedger"/> decides. Lists the source into
/// shards in short timer turns, hands shards out as leases to the silos' workers (which pull), takes leases back when
/// their worker goes silent or its silo dies, and ends the job. Its state is a small header plus segments of shard
/// records (<see cref="JobStateStore"/>): a change rewrites only the segments it touched, and concurrent lease calls
/// share one write (group commit), so a lease costs the same whatever the job's size.
/// </summary>
/// <remarks>
/// Reentrant: a lease waits for its write while completions, renewals, listing and housekeeping go on. Every rule runs
/// synchronously in <see cref="ShardLedger"/> between awaits, and each await is followed by re-checks (job ended?).
/// Without it, non-interleaved calls and timer turns starve behind the stream of lease calls waiting for storage.
/// </remarks>
[Reentrant]
public sealed partial class JobCoordinatorGrain(
    JobStateStore store,
    LedgerStore ledgers,
    JobStorage storage,
    StorageScope scope,
    JobMetrics metrics,
    IClusterMembershipService membership,
    TimeProvider time,
    IOptions<CoordinatorOptions> options,
    ResiliencePipelineProvider<string> pipelines,
    ILogger<JobCoordinatorGrain> logger) : Grain, IJobCoordinatorGrain, IRemindable
{
    private const string ReminderName = "keep-job-alive";

    private readonly CoordinatorOptions settings = options.Value;
    private readonly ResiliencePipeline listingPipeline = pipelines.GetPipeline(SiloResiliencePipelines.SourceListing);
    private readonly List<(DateTimeOffset At, long Processed)> rateSamples = [];
    private readonly ErrorClassTally errorClasses = new();
    private readonly Dictionary<string, SiloJobUsage> usage = new(StringComparer.Ordinal);
    private readonly ThroughputHistory history = new(TimeSpan.FromSeconds(2));
    private SiloRates? siloRates;
    private readonly List<string> listingBuffer = [];
    private readonly List<string> listingETags = [];
    private readonly List<DateTimeOffset?> listingCreated = [];
    private LabelingPace? pace;
    private LedgerLookup? lookup;
    private readonly Dictionary<int, ETag> segmentTags = [];
    private JobCoordinatorState header = new();
    private ETag? headerTag;
    private bool headerDirty;
    private ShardLedger? ledger;
    private IGrainTimer? listingTimer;
    private IGrainTimer? housekeepingTimer;
    private SourceCursor? cursor;
    private DateTimeOffset lastPersist;
    private TaskCompletionSource? nextFlush;
    private Task? flushLoop;
    // Last time a storage call of this coordinator failed: shard losses around an outage are not the shard's fault.
    private DateTimeOffset lastStorageFailure = DateTimeOffset.MinValue;
    private (long Version, HashSet<string> Names) goneSilos = (-1, []);

    private string JobKey => this.GetPrimaryKeyString();

    private JobSpec Spec => header.Spec ?? throw new InvalidOperationException("job has no spec");

    private ShardLedger Ledger => ledger ?? throw new InvalidOperationException("job has no spec");

    private LabelingPace Pace => pace ??= new LabelingPace(time);

    private bool IsFollow => header.Spec?.FollowEvery is not null;

    private bool IsTerminal => header.State is JobState.Completed or JobState.Failed or JobState.Cancelled;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (await store.ReadHeaderAsync(JobKey, cancellationToken) is not { } stored)
        {
            return;
        }

        header = stored.Value;
        headerTag = stored.ETag;
        errorClasses.Restore(header.ErrorClasses);
        foreach (var entry in header.Usage ?? [])
        {
            usage[entry.Silo] = entry;
        }

        var restored = NewLedger(header);
        var segmentCount = (header.ShardCount + header.SegmentSize - 1) / header.SegmentSize;
        var records = new ShardSegmentRecord[segmentCount];
        // A few segments at a time: activation of a large job is bounded by storage latency, not by one read after another.
        await Parallel.ForEachAsync(Enumerable.Range(0, segmentCount), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (index, token) =>
        {
            var segment = await store.ReadSegmentAsync(JobKey, index, token)
                ?? throw new InvalidDataException($"job {JobKey}: segment {index} of {segmentCount} is missing");
            records[index] = segment.Value;
            lock (segmentTags)
            {
                segmentTags[index] = segment.ETag;
            }
        });
        restored.Restore(header.ShardCount, header.ListingComplete, header.ShardsRedispatched, records);
        ledger = restored;
        if (IsTerminal)
        {
            ledger.End();
        }

        LogActivated(logger, JobKey, header.State, ledger.ShardCount, ledger.ShardsPending);
        StartTimers();
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        metrics.RemovePending(JobKey);
        return cursor is null ? Task.CompletedTask : cursor.DisposeAsync().AsTask();
    }

    public async Task<JobStatus> SubmitAsync(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        JobId.Validate(JobKey);
        JobSpecValidation.Validate(spec);
        // Before any storage call: a refused container gets the same answer whether it exists or not.
        scope.Check(spec);
        if (header.Spec is { } existing)
        {
            // A retried submit (the client timed out, say) must not start a second job.
            return existing == spec
                ? BuildStatus()
                : throw new ArgumentException($"job id '{JobKey}' is already used by another job");
        }

        var retry = spec.RetryOf is { } parent ? await DataProductChecks.RetryParentAsync(GrainFactory, spec, parent) : null;
        // A retry labels with the version its parent used, so its rows fold into the same ledger.
        var model = retry?.Model ?? await SubmitChecks.PinModelAsync(storage.Coordinator, spec);
        if (retry is null)
        {
            await SubmitChecks.RequireSourceAsync(storage.Coordinator, spec);
        }
        await storage.Coordinator.GetBlobContainerClient(spec.Output.Container).CreateIfNotExistsAsync();
        if (header.Spec is { } raced)
        {
            // A concurrent submit (reentrant grain) got here first.
            return raced == spec ? BuildStatus() : throw new ArgumentException($"job id '{JobKey}' is already used by another job");
        }

        var created = new JobCoordinatorState
        {
            JobId = JobKey,
            Spec = spec,
            State = JobState.Pending,
            SubmittedAt = time.GetUtcNow(),
            SegmentSize = settings.SegmentSize,
            Model = model,
            LedgerId = spec.Incremental ? LabelLedgerKey.Of(spec.Source, model.Sha256) : null,
            RetryShardCount = retry?.ShardsTotal ?? 0,
        };
        header = created;
        ledger = NewLedger(created);
        headerDirty = true;
        try
        {
            await FlushAsync();
        }
        catch
        {
            // Not stored: this activation must not pretend the job exists.
            header = new JobCoordinatorState();
            ledger = null;
            headerDirty = false;
            throw;
        }

        LogSubmitted(logger, JobKey, spec.Source.ToString(), spec.ModelName, spec.ShardSize);
        await this.RegisterOrUpdateReminder(ReminderName, settings.ReminderPeriod, settings.ReminderPeriod);
        await TryRegisterAsync();
        StartTimers();
        return BuildStatus();
    }

    public Task<JobStatus> GetStatusAsync()
    {
        if (header.Spec is null)
        {
            // Nothing to keep in memory for an id nobody submitted.
            DeactivateOnIdle();
            throw new KeyNotFoundException($"job '{JobKey}' not found");
        }

        return Task.FromResult(BuildStatus());
    }

    public async Task<JobStatus> CancelAsync()
    {
        if (header.Spec is null)
        {
            DeactivateOnIdle();
            throw new KeyNotFoundException($"job '{JobKey}' not found");
        }

        if (!IsTerminal)
        {
            await EndJobAsync(JobState.Cancelled, "cancelled by request");
        }

        return BuildStatus();
    }

    public async Task<IReadOnlyList<ShardLease>> LeaseShardsAsync(string silo, int maxShards)
    {
        ArgumentException.ThrowIfNullOrEmpty(silo);
        if (ledger is null || IsTerminal)
        {
            return [];
        }

        var grants = ledger.Lease(silo, Math.Min(maxShards, settings.MaxLeasesPerCall));
        if (grants.Count == 0)
        {
            return [];
        }

        try
        {
            // Stored before the worker hears of it, so a coordinator that moves still recognises the lease. Lease
            // calls interleave, so the ones that arrive during a write share the next one.
            await FlushAsync();
        }
        catch
        {
            lastStorageFailure = time.GetUtcNow();
            ledger.Rollback(grants);
            throw;
        }

        var spec = Spec;
        var leases = new List<ShardLease>(grants.Count);
        foreach (var grant in grants)
        {
            LogLeased(logger, JobKey, grant.ShardId, silo, grant.Attempt);
            leases.Add(new ShardLease
            {
                Lease = new ShardLeaseRef { JobId = JobKey, ShardId = grant.ShardId, LeaseId = grant.LeaseId, Silo = silo },
                Attempt = grant.Attempt,
                MaxAttempts = spec.MaxShardAttempts,
                SourceContainer = spec.Source.Container,
                ManifestBlob = JobOutputLayout.ShardManifest(spec.Output, JobKey, grant.Manifest.Group),
                ManifestOffset = grant.Manifest.Offset,
                ManifestLength = grant.Manifest.Length,
                ResultBlob = JobOutputLayout.ShardResult(spec.Output, JobKey, grant.ShardId),
                ModelName = spec.ModelName,
                TopK = spec.TopK,
                LeaseDuration = settings.LeaseDuration,
                ImageCount = grant.ImageCount,
                Model = header.Model,
                TagBlobs = spec.TagBlobs,
                ReviewBelow = spec.ReviewBelow,
                ReviewMargin = spec.ReviewMargin,
            });
        }

        return leases;
    }

    public Task<LeaseVerdict> RenewLeaseAsync(ShardLeaseRef lease, ShardProgress progress)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(progress);
        // Interleaved with other turns: no awaits here, only in-memory updates.
        if (ledger is null || IsTerminal || lease.JobId != JobKey)
        {
            return Task.FromResult(LeaseVerdict.Stop);
        }

        return Task.FromResult(ledger.Renew(lease, progress));
    }

    public async Task CompleteShardAsync(ShardLeaseRef lease, ShardProgress outcome)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(outcome);
        if (ledger is null || lease.JobId != JobKey)
        {
            return;
        }

        switch (ledger.Complete(lease, outcome))
        {
            case CompletionOutcome.Accepted:
                LogShardCompleted(logger, JobKey, lease.ShardId, lease.Silo ?? "?", outcome.Labeled, outcome.Errors);
                if (outcome.ErrorClasses.Count > 0)
                {
                    errorClasses.Add(outcome.ErrorClasses);
                    headerDirty = true;
                }

                Pace.ShardFinished(lease.ShardId, outcome.Labeled + outcome.Errors);
                await EvaluateAsync();
                break;
            case CompletionOutcome.Rejected:
                LogCompletionRejected(logger, JobKey, lease.ShardId, outcome.Labeled, outcome.Errors);
                break;
            case CompletionOutcome.UnknownLease:
                LogUnknownLease(logger, JobKey, lease.ShardId, lease.Silo ?? "?");
                break;
            default:
                LogStaleReport(logger, JobKey, lease.ShardId, "completion");
                break;
        }
    }

    public async Task FailShardAsync(ShardLeaseRef lease, ShardAttemptFailure failure)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(failure);
        if (ledger is null || IsTerminal || lease.JobId != JobKey)
        {
            return;
        }

        switch (ledger.Fail(lease, failure, DuringStorageOutage(time.GetUtcNow())))
        {
            case FailureOutcome.Stale:
                LogStaleReport(logger, JobKey, lease.ShardId, "failure");
                return;
            case FailureOutcome.ShardFailed:
                LogShardFailed(logger, JobKey, lease.ShardId, failure.Kind, ShardLedger.CleanReason(failure.Reason));
                break;
            case var retried:
                LogShardRetry(logger, JobKey, lease.ShardId, failure.Kind, retried == FailureOutcome.RetriedFree, ShardLedger.CleanReason(failure.Reason));
                break;
        }

        await EvaluateAsync();
    }

    public Task ReleaseShardAsync(ShardLeaseRef lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        if (ledger is not null && !IsTerminal && lease.JobId == JobKey && ledger.Release(lease))
        {
            headerDirty = true;
            LogReleased(logger, JobKey, lease.ShardId, lease.Silo ?? "?");
        }

        return Task.CompletedTask;
    }

    public Task ReportSiloUsageAsync(SiloJobUsage report)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentException.ThrowIfNullOrEmpty(report.Silo);
        // Totals only grow: an out-of-order (older) report must not undo a newer one.
        if (header.Spec is not null && (!usage.TryGetValue(report.Silo, out var known) || report.Images >= known.Images)
            && report.Images >= 0 && report.CpuSeconds >= 0 && double.IsFinite(report.CpuSeconds) && (usage.ContainsKey(report.Silo) || usage.Count < 4096))
        {
            usage[report.Silo] = report;
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<ThroughputSample>> GetThroughputHistoryAsync()
    {
        if (header.Spec is null)
        {
            DeactivateOnIdle();
            throw new KeyNotFoundException($"job '{JobKey}' not found");
        }

        return Task.FromResult(history.Snapshot(IsTerminal && header.EndedAt is { } ended ? ended : time.GetUtcNow(), Ledger.Processed));
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        // Activation already restarted listing and lease checks; the reminder only has to bring the grain back.
        return header.Spec is null || (IsTerminal && header.EndRecorded)
            ? UnregisterReminderAsync()
            : Task.CompletedTask;
    }

    private ShardLedger NewLedger(JobCoordinatorState state) => new(
        new ShardLedgerSettings
        {
            MaxAttempts = state.Spec!.MaxShardAttempts,
            MaxErrors = state.Spec.MaxErrors,
            LeaseDuration = settings.LeaseDuration,
            SegmentSize = state.SegmentSize,
            MaxFreeRetries = settings.MaxFreeRetries,
        },
        time);

    private void StartTimers()
    {
        if (header.Spec is null)
        {
            return;
        }

        if (!IsTerminal && !header.ListingComplete && listingTimer is null)
        {
            listingTimer = this.RegisterGrainTimer(
                ListingTurnAsync,
                new GrainTimerCreationOptions(TimeSpan.Zero, TimeSpan.FromMilliseconds(10)) { Interleave = true, KeepAlive = true });
        }

        if ((!IsTerminal || !header.EndRecorded) && housekeepingTimer is null)
        {
            housekeepingTimer = this.RegisterGrainTimer(
                HousekeepingTurnAsync,
                new GrainTimerCreationOptions(settings.HousekeepingInterval, settings.HousekeepingInterval) { Interleave = true, KeepAlive = true });
        }
    }

    private async Task ListingTurnAsync(CancellationToken cancellationToken)
    {
        if (IsTerminal || header.ListingComplete || Ledger.PendingFailure is not null)
        {
            StopListing();
            return;
        }

        if (IsFollow && (header.FollowRoundListed || time.GetUtcNow() < header.FollowNextListing))
        {
            // A follow job between rounds.
            return;
        }

        var spec = Spec;
        var excluded = spec.Source.Container == spec.Output.Container ? JobOutputLayout.JobFolder(spec.Output, JobKey) : null;
        var cut = 0;
        var ended = false;
        var context = SiloResiliencePipelines.GrainContext(JobKey, cancellationToken);
        try
        {
            // Storage trouble is waited out with a growing pause (SiloResiliencePipelines.SourceListing), each try
            // starting again from the last cut; status, leases and housekeeping go on meanwhile (reentrant).
            await listingPipeline.ExecuteAsync(async ctx => await ListAsync(ctx.CancellationToken), context);
        }
        catch (InvalidManifestException ex)
        {
            await EndJobAsync(JobState.Failed, ex.Message);
            return;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            var what = spec.ManifestBlob is { } manifest ? $"manifest blob '{spec.Source.Container}/{manifest}'" : $"source container '{spec.Source.Container}'";
            await EndJobAsync(JobState.Failed, $"{what} not found while listing ({ex.ErrorCode})");
            return;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }

        if (ended)
        {
            return;
        }

        if (cut > 0 || header.ListingComplete || header.FollowRoundListed)
        {
            await TryFlushAsync();
        }

        if (header.ListingComplete)
        {
            StopListing();
            await EvaluateAsync();
        }

        async Task ListAsync(CancellationToken token)
        {
            // The job may have ended while a retry waited.
            if (IsTerminal || Ledger.PendingFailure is not null)
            {
                return;
            }

            var budget = Stopwatch.StartNew();
            try
            {
                cursor ??= spec.RetryOf is { } parent
                    ? new ErrorRowsCursor(storage.Coordinator.GetBlobContainerClient(spec.Output.Container), storage.Coordinator.GetBlobContainerClient(spec.Source.Container), spec.Output, parent, header.RetryShardCount, spec.RetryCodes, header.ListingCheckpoint)
                    : SourceCursor.Open(storage.Coordinator, spec, header.ListingCheckpoint);
                if (FiltersByLedger && lookup is null)
                {
                    // The ledger as it is now: blobs recorded with the same ETag are skipped.
                    var snapshot = await GrainFactory.GetGrain<ILabelLedgerGrain>(header.LedgerId!).GetSnapshotAsync();
                    lookup = new LedgerLookup(snapshot, ledgers.ReadSegmentAsync);
                }

                do
                {
                    // Read a group of shards' names, write them as one manifest blob, then add the shards in order with the
                    // checkpoint after the last: one storage call per group keeps listing ahead of thousands of
                    // completions a second.
                    var ready = new List<IReadOnlyList<string>>();
                    var readyETags = new List<string>();
                    var readyCreated = new List<DateTimeOffset?>();
                    var end = false;
                    while (ready.Count < settings.ShardsPerManifestBlob && !end)
                    {
                        // Never read past a shard boundary, so the cursor's checkpoint is exactly where the next shard starts.
                        var batch = await cursor.ReadAsync(spec.ShardSize - listingBuffer.Count, token);
                        for (var i = 0; i < batch.Names.Count; i++)
                        {
                            var name = batch.Names[i];
                            if (spec.ManifestBlob is not null && !scope.CanRead(spec.Source.Container, name))
                            {
                                throw new InvalidManifestException($"manifest '{spec.ManifestBlob}' names an image outside the storage scope jobs may read: '{ShardLedger.CleanReason(name)}'");
                            }

                            if (excluded is not null && name.StartsWith(excluded, StringComparison.Ordinal))
                            {
                                continue;
                            }

                            var etag = batch.ETags?[i];
                            if (lookup is not null && await lookup.IsLabeledAsync(name, etag, token))
                            {
                                continue;
                            }

                            listingBuffer.Add(name);
                            listingETags.Add(etag ?? "");
                            listingCreated.Add(batch.Created?[i]);
                        }

                        end = batch.End;
                        if (listingBuffer.Count >= spec.ShardSize || (end && listingBuffer.Count > 0))
                        {
                            ready.Add([.. listingBuffer]);
                            readyETags.AddRange(listingETags);
                            readyCreated.Add(listingCreated.Min());
                            listingBuffer.Clear();
                            listingETags.Clear();
                            listingCreated.Clear();
                        }
                    }

                    if (ready.Count > 0)
                    {
                        if (Ledger.ShardCount + ready.Count > settings.MaxShards)
                        {
                            await EndJobAsync(JobState.Failed, $"the source holds more than {settings.MaxShards} shards of {spec.ShardSize} images (the most one job may have); use a larger --shard-size or split the job");
                            ended = true;
                            return;
                        }

                        var firstShard = Ledger.ShardCount;
                        await CutShardsAsync(spec, ready, header.LedgerId is not null ? readyETags : null, token);
                        cut += ready.Count;
                        for (var i = 0; i < readyCreated.Count; i++)
                        {
                            Pace.ShardCut(firstShard + i, readyCreated[i]);
                        }
                    }

                    if (end && IsFollow)
                    {
                        // A follow round has listed everything: its shards run, then it commits and the next round relists.
                        header.FollowRoundListed = true;
                        header.ListingCheckpoint = null;
                        headerDirty = true;
                        await ResetCursorAsync();
                        lookup = null;
                    }
                    else if (end)
                    {
                        header.ListingComplete = true;
                        header.ListingCheckpoint = null;
                        Ledger.CompleteListing();
                        headerDirty = true;
                        LogListingComplete(logger, JobKey, Ledger.ListedImages, Ledger.ShardCount);
                    }
                }
                while (!header.ListingComplete && !header.FollowRoundListed && budget.Elapsed < settings.ListingTurnBudget);
            }
            catch (Exception ex) when (SiloResiliencePipelines.IsTransientListingFailure(ex))
            {
                // The next try starts again from the last cut.
                lastStorageFailure = time.GetUtcNow();
                listingBuffer.Clear();
                listingETags.Clear();
                listingCreated.Clear();
                lookup = null;
                await ResetCursorAsync();
                throw;
            }
        }
    }

    /// <summary>An incremental job over a listing (not a retry): it skips what its ledger has and records the ETags it labels.</summary>
    private bool FiltersByLedger => header.LedgerId is not null && Spec.RetryOf is null;

    private async Task CutShardsAsync(JobSpec spec, List<IReadOnlyList<string>> shards, IReadOnlyList<string>? etags, CancellationToken cancellationToken)
    {
        var first = Ledger.ShardCount;
        var blob = JobOutputLayout.ShardManifest(spec.Output, JobKey, first);
        var container = storage.Coordinator.GetBlobContainerClient(blob.Container);
        if (etags is not null)
        {
            // Beside the group's names, line for line, before the shards exist: the ledger commit reads both.
            await ShardManifestFile.WriteAsync(container.GetBlobClient(JobOutputLayout.ShardETags(spec.Output, JobKey, first).Prefix), etags, cancellationToken);
        }

        var ranges = await ShardManifestFile.WriteGroupAsync(container.GetBlobClient(blob.Prefix), shards, cancellationToken);

        // The records and the checkpoint change together (no await between), so any stored header matches its segments.
        for (var i = 0; i < shards.Count; i++)
        {
            Ledger.AddShard(shards[i].Count, new ShardManifestRef(first, ranges[i].Offset, ranges[i].Length));
        }

        header.ListingCheckpoint = cursor?.Checkpoint;
        if (header.State == JobState.Pending)
        {
            header.State = JobState.Running;
            header.StartedAt = time.GetUtcNow();
        }

        headerDirty = true;
    }

    private async Task HousekeepingTurnAsync(CancellationToken cancellationToken)
    {
        if (IsTerminal)
        {
            await RecordEndAsync();
            if (header.EndRecorded)
            {
                housekeepingTimer?.Dispose();
                housekeepingTimer = null;
            }

            await TryFlushAsync();
            return;
        }

        if (!header.Registered)
        {
            await TryRegisterAsync();
        }

        ExpireLeases();
        await WriteFailedShardRowsAsync(cancellationToken);
        SampleRate();
        metrics.SetPending(JobKey, Math.Max(0, Ledger.ListedImages - Ledger.Processed));
        await EvaluateAsync();
        if (HasChanges && time.GetUtcNow() - lastPersist >= settings.PersistInterval)
        {
            await TryFlushAsync();
        }
    }

    private void ExpireLeases()
    {
        var lost = Ledger.ExpireLeases(IsSiloGone, DuringStorageOutage(time.GetUtcNow()));
        foreach (var loss in lost)
        {
            LogLeaseLost(logger, JobKey, loss.ShardId, loss.Silo, loss.SiloGone, loss.ShardFailed);
        }

        if (lost.Count > 0)
        {
            headerDirty = true;
        }
    }

    /// <summary>True for a silo the cluster declared dead and that has not come back under the same name.</summary>
    private bool IsSiloGone(string silo)
    {
        var snapshot = membership.CurrentSnapshot;
        if (snapshot.Version.Value != goneSilos.Version)
        {
            var alive = snapshot.Members.Values.Where(m => m.Status != SiloStatus.Dead).Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
            var dead = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Dead && !alive.Contains(m.Name)).Select(m => m.Name);
            goneSilos = (snapshot.Version.Value, dead.ToHashSet(StringComparer.Ordinal));
        }

        return goneSilos.Names.Contains(silo);
    }

    private async Task WriteFailedShardRowsAsync(CancellationToken cancellationToken)
    {
        var spec = Spec;
        foreach (var id in Ledger.ShardsNeedingErrorRows.Take(4).ToArray())
        {
            try
            {
                var where = Ledger.ManifestOf(id) ?? throw new InvalidOperationException($"shard {id} is not in memory");
                var manifest = JobOutputLayout.ShardManifest(spec.Output, JobKey, where.Group);
                var result = JobOutputLayout.ShardResult(spec.Output, JobKey, id);
                var container = storage.Coordinator.GetBlobContainerClient(result.Container);
                await FailedShardResults.WriteAsync(
                    container.GetBlobClient(manifest.Prefix), new ManifestRange(where.Offset, where.Length), container.GetBlobClient(result.Prefix), Ledger.LastErrorOf(id) ?? "failed", header.Model?.Sha256, cancellationToken);
                Ledger.MarkErrorRowsWritten(id);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                lastStorageFailure = time.GetUtcNow();
                LogStorageRetry(logger, ex, JobKey, "writing error rows of a failed shard");
                return;
            }
        }
    }

    /// <summary>Ends the job when its error threshold is exceeded or every shard is done.</summary>
    private async Task EvaluateAsync()
    {
        if (IsTerminal)
        {
            return;
        }

        if ((Ledger.PendingFailure ?? Ledger.ThresholdFailure()) is { } reason)
        {
            await EndJobAsync(JobState.Failed, reason);
            return;
        }

        if (IsFollow)
        {
            await FollowRoundAsync();
            return;
        }

        if (!header.ListingComplete)
        {
            return;
        }

        if (Ledger.ShardCount == 0 && header.LedgerId is null && Spec.RetryOf is null)
        {
            await EndJobAsync(JobState.Failed, $"no images found under {Spec.Source}");
            return;
        }

        // An incremental job with nothing new, or a retry of a job without error rows, completes with no images.
        if (Ledger.ShardCount == 0 || Ledger.AllShardsFinished)
        {
            if (header.LedgerId is not null && !header.LedgerCommitted && !await TryCommitToLedgerAsync())
            {
                // Merging: housekeeping asks again; the job is completed once its images are in the ledger.
                return;
            }

            await EndJobAsync(JobState.Completed, null);
        }
    }

    /// <summary>A follow round whose shards all finished is committed into the ledger; the next one lists after the period.</summary>
    private async Task FollowRoundAsync()
    {
        if (!header.FollowRoundListed || !Ledger.NothingInFlight)
        {
            return;
        }

        if (Ledger.ShardCount > header.FollowRoundStart && !await TryCommitToLedgerAsync($"{JobKey}/round-{header.FollowRounds}", header.FollowRoundStart))
        {
            return;
        }

        header.FollowRounds++;
        header.FollowRoundStart = Ledger.ShardCount;
        header.FollowRoundListed = false;
        header.FollowNextListing = time.GetUtcNow() + Spec.FollowEvery!.Value;
        headerDirty = true;
        await TryFlushAsync();
    }

    private async Task<bool> TryCommitToLedgerAsync(string? commitId = null, int fromShard = 0)
    {
        if (Ledger.ShardCount == 0)
        {
            // Nothing labeled: the ledger stays as it is.
            header.LedgerCommitted = true;
            headerDirty = true;
            return true;
        }

        try
        {
            var spec = Spec;
            var committed = await GrainFactory.GetGrain<ILabelLedgerGrain>(header.LedgerId!).CommitAsync(new LedgerCommit
            {
                JobId = JobKey,
                Source = spec.Source,
                ModelSha256 = header.Model!.Sha256,
                Output = spec.Output,
                ShardCount = Ledger.ShardCount,
                HasETags = true,
                TopK = spec.TopK,
                CommitId = commitId,
                FromShard = fromShard,
            });
            if (committed && commitId is not null)
            {
                return true;
            }

            if (committed)
            {
                header.LedgerCommitted = true;
                headerDirty = true;
                LogLedgerCommitted(logger, JobKey, header.LedgerId!);
            }

            return committed;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            lastStorageFailure = time.GetUtcNow();
            LogStorageRetry(logger, ex, JobKey, "committing the job's images into its ledger");
            return false;
        }
    }

    private async Task EndJobAsync(JobState final, string? reason)
    {
        header.State = final;
        header.EndedAt = time.GetUtcNow();
        header.FailureReason = reason;
        header.StartedAt ??= header.EndedAt;
        Ledger.End();
        headerDirty = true;
        StopListing();
        metrics.SetPending(JobKey, 0);
        LogEnded(logger, JobKey, final, Ledger.Labeled, Ledger.Errors, reason ?? "");
        await TryFlushAsync();
        await RecordEndAsync();
        StartTimers();
    }

    /// <summary>Writes the summary blob, takes the job off the active list and drops the reminder; retried until done.</summary>
    private async Task RecordEndAsync()
    {
        if (header.EndRecorded)
        {
            return;
        }

        try
        {
            var summary = JobOutputLayout.Summary(Spec.Output, JobKey);
            await storage.Coordinator.GetBlobContainerClient(summary.Container).GetBlobClient(summary.Prefix)
                .UploadAsync(BinaryData.FromString(JobStatusJson.Serialize(BuildStatus())), overwrite: true);
            await GrainFactory.GetGrain<IJobRegistryGrain>(0).MarkEndedAsync(JobKey);
            await UnregisterReminderAsync();
            header.EndRecorded = true;
            headerDirty = true;
            await FlushAsync();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            lastStorageFailure = time.GetUtcNow();
            LogStorageRetry(logger, ex, JobKey, "recording the end of the job");
        }
    }

    private async Task UnregisterReminderAsync()
    {
        var reminder = await this.GetReminder(ReminderName);
        if (reminder is not null)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private async Task TryRegisterAsync()
    {
        try
        {
            await GrainFactory.GetGrain<IJobRegistryGrain>(0).RegisterAsync(new JobEntry { JobId = JobKey, SubmittedAt = header.SubmittedAt });
            header.Registered = true;
            headerDirty = true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            lastStorageFailure = time.GetUtcNow();
            LogStorageRetry(logger, ex, JobKey, "registering the job");
        }
    }

    private void StopListing()
    {
        listingTimer?.Dispose();
        listingTimer = null;
    }

    private async Task ResetCursorAsync()
    {
        if (cursor is not null)
        {
            await cursor.DisposeAsync();
            cursor = null;
        }
    }

    private bool HasChanges => headerDirty || (ledger is not null && ledger.DirtySegments().Any());

    /// <summary>
    /// Stores every change made before this call. Calls that arrive while a write is in flight share the next write
    /// (group commit): lease calls interleave, so under load one write carries many leases.
    /// </summary>
    private Task FlushAsync()
    {
        var round = nextFlush ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (flushLoop is null || flushLoop.IsCompleted)
        {
            flushLoop = FlushLoopAsync();
        }

        return round.Task;
    }

    private async Task FlushLoopAsync()
    {
        while (nextFlush is { } round)
        {
            nextFlush = null;
            try
            {
                await WriteChangesAsync();
                round.TrySetResult();
            }
            catch (Exception ex)
            {
                round.TrySetException(ex);
            }
        }
    }

    /// <summary>Dirty segments first (in parallel: distinct blobs), then the header that counts their shards.</summary>
    private async Task WriteChangesAsync()
    {
        if (ledger is null)
        {
            return;
        }

        // Snapshot synchronously: whatever changes during the writes is dirty again for the next round.
        var segments = ledger.DirtySegments().Select(ledger.Snapshot).ToArray();
        JobCoordinatorState? headerCopy = null;
        if (headerDirty)
        {
            headerCopy = CopyHeader();
            headerDirty = false;
        }

        try
        {
            await Task.WhenAll(segments.Select(async s =>
            {
                var tag = await store.WriteSegmentAsync(JobKey, s.Record, segmentTags.TryGetValue(s.Record.Index, out var t) ? t : null, CancellationToken.None);
                segmentTags[s.Record.Index] = tag;
                ledger.MarkStored(s.Record.Index, s.Version);
            }));
            if (headerCopy is not null)
            {
                headerTag = await store.WriteHeaderAsync(JobKey, headerCopy, headerTag, CancellationToken.None);
            }

            lastPersist = time.GetUtcNow();
        }
        catch (InconsistentStateException ex)
        {
            // Another activation wrote the job (a split during a membership change): drop this one and reload.
            headerDirty |= headerCopy is not null;
            LogInconsistentState(logger, ex, JobKey);
            DeactivateOnIdle();
            throw;
        }
        catch
        {
            headerDirty |= headerCopy is not null;
            throw;
        }
    }

    private JobCoordinatorState CopyHeader() => new()
    {
        JobId = header.JobId,
        Spec = header.Spec,
        State = header.State,
        SubmittedAt = header.SubmittedAt,
        StartedAt = header.StartedAt,
        EndedAt = header.EndedAt,
        FailureReason = header.FailureReason,
        ListingComplete = header.ListingComplete,
        ListingCheckpoint = header.ListingCheckpoint,
        ListedImages = Ledger.ListedImages,
        ShardCount = Ledger.ShardCount,
        ShardsRedispatched = Ledger.ShardsRedispatched,
        Registered = header.Registered,
        EndRecorded = header.EndRecorded,
        SegmentSize = header.SegmentSize,
        Model = header.Model,
        ErrorClasses = errorClasses.IsEmpty ? null : [.. errorClasses.Snapshot()],
        Usage = usage.Count == 0 ? null : [.. usage.Values],
        LedgerId = header.LedgerId,
        LedgerCommitted = header.LedgerCommitted,
        RetryShardCount = header.RetryShardCount,
        FollowRoundListed = header.FollowRoundListed,
        FollowRoundStart = header.FollowRoundStart,
        FollowNextListing = header.FollowNextListing,
        FollowRounds = header.FollowRounds,
    };

    private async Task TryFlushAsync()
    {
        try
        {
            await FlushAsync();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            lastStorageFailure = time.GetUtcNow();
            LogStorageRetry(logger, ex, JobKey, "saving job state");
        }
    }

    private bool DuringStorageOutage(DateTimeOffset now) => now - lastStorageFailure < settings.LeaseDuration * 2;

    private void SampleRate()
    {
        var now = time.GetUtcNow();
        rateSamples.Add((now, Ledger.Processed));
        rateSamples.RemoveAll(s => now - s.At > settings.RateWindow);
        history.Record(now, Ledger.Processed);
        siloRates ??= new SiloRates(settings.RateWindow);
        siloRates.Sample(now, Ledger.SiloShares().Select(s => (s.Silo, s.Labeled + s.Errors)));
    }

    /// <summary>O(silos + shards in flight): every count is kept up to date by the ledger.</summary>
    private JobStatus BuildStatus()
    {
        var book = Ledger;
        var recent = Pace.Snapshot();
        var labeled = book.Labeled;
        var errors = book.Errors;
        var rate = CurrentRate();
        TimeSpan? eta = null;
        if (!IsTerminal && rate > 0)
        {
            eta = TimeSpan.FromSeconds(Math.Ceiling(Math.Max(0, book.ListedImages - labeled - errors) / rate));
        }
        else if (IsTerminal)
        {
            eta = TimeSpan.Zero;
        }

        return new JobStatus
        {
            JobId = JobKey,
            State = header.State,
            Spec = Spec,
            TotalImages = book.ListedImages,
            ListingComplete = header.ListingComplete,
            Labeled = labeled,
            Errors = errors,
            ShardsTotal = book.ShardCount,
            ShardsDone = book.ShardsDone,
            // Told to stop at their next renewal: nothing runs for an ended job.
            ShardsRunning = IsTerminal ? 0 : book.ShardsLeased,
            ShardsPending = book.ShardsPending + (IsTerminal ? book.ShardsLeased : 0),
            ShardsFailed = book.ShardsFailed,
            ImagesPerSecond = IsTerminal ? AverageRate(labeled + errors) : rate,
            Eta = eta,
            Silos = SiloSharesWithUsage(book.SiloShares()),
            SubmittedAt = header.SubmittedAt,
            StartedAt = header.StartedAt,
            EndedAt = header.EndedAt,
            FailureReason = header.FailureReason,
            ShardsRedispatched = book.ShardsRedispatched,
            FailedShards = book.FailedShards.ToArray(),
            Model = header.Model,
            ErrorClasses = errorClasses.Snapshot(book.FailedShardImages, book.FailedShards),
            ForReview = book.ForReview,
            TagsSkipped = book.TagsSkipped,
            LabeledLastMinute = recent.LastMinute,
            LabeledLastHour = recent.LastHour,
            LagSeconds = Pace.LastLagSeconds,
            MaxLagLastHourSeconds = recent.MaxLag,
            FollowRounds = header.FollowRounds,
        };
    }

    /// <summary>Each silo's counts with its current rate and its last usage report.</summary>
    private SiloShare[] SiloSharesWithUsage(IReadOnlyList<SiloShare> shares) =>
        [.. shares.Select(s => usage.TryGetValue(s.Silo, out var u)
            ? s with { ImagesPerSecond = IsTerminal ? 0 : siloRates?.RateOf(s.Silo) ?? 0, Cores = u.Cores, CpuSeconds = u.CpuSeconds, AccountedImages = u.Images }
            : s with { ImagesPerSecond = IsTerminal ? 0 : siloRates?.RateOf(s.Silo) ?? 0 })];

    private double CurrentRate()
    {
        if (rateSamples.Count < 2)
        {
            return 0;
        }

        var (firstAt, firstCount) = rateSamples[0];
        var (lastAt, lastCount) = rateSamples[^1];
        var seconds = (lastAt - firstAt).TotalSeconds;
        return seconds <= 0 ? 0 : Math.Max(0, lastCount - firstCount) / seconds;
    }

    /// <summary>For an ended job: images over the time from first shard to end.</summary>
    private double AverageRate(long processed)
    {
        if (header.StartedAt is not { } started || header.EndedAt is not { } ended)
        {
            return 0;
        }

        var seconds = (ended - started).TotalSeconds;
        return seconds <= 0 ? 0 : processed / seconds;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} submitted: source {Source}, model {Model}, shard size {ShardSize}")]
    private static partial void LogSubmitted(ILogger logger, string jobId, string source, string model, int shardSize);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} activated in state {State} with {Shards} shards ({Pending} pending)")]
    private static partial void LogActivated(ILogger logger, string jobId, JobState state, int shards, int pending);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} listing complete: {Images} images in {Shards} shards")]
    private static partial void LogListingComplete(ILogger logger, string jobId, long images, int shards);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} shard {ShardId} leased to {Silo} (attempt {Attempt})")]
    private static partial void LogLeased(ILogger logger, string jobId, int shardId, string silo, int attempt);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} shard {ShardId} completed by {Silo}: {Labeled} labeled, {Errors} errors")]
    private static partial void LogShardCompleted(ILogger logger, string jobId, int shardId, string silo, int labeled, int errors);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} shard {ShardId}: completion refused: {Labeled} labeled + {Errors} errors is not the shard's image count")]
    private static partial void LogCompletionRejected(ILogger logger, string jobId, int shardId, int labeled, int errors);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} shard {ShardId}: ignored stale {Report}")]
    private static partial void LogStaleReport(ILogger logger, string jobId, int shardId, string report);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} shard {ShardId} attempt failed ({Kind}, free retry: {Free}), will retry: {Reason}")]
    private static partial void LogShardRetry(ILogger logger, string jobId, int shardId, ShardFailureKind kind, bool free, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} shard {ShardId} failed all its attempts ({Kind}); its images become error rows: {Reason}")]
    private static partial void LogShardFailed(ILogger logger, string jobId, int shardId, ShardFailureKind kind, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} shard {ShardId}: lease of silo {Silo} lost (silo gone: {SiloGone}, shard failed: {ShardFailed}); shard goes to another worker")]
    private static partial void LogLeaseLost(ILogger logger, string jobId, int shardId, string silo, bool siloGone, bool shardFailed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} shard {ShardId} handed back by draining silo {Silo}")]
    private static partial void LogReleased(ILogger logger, string jobId, int shardId, string silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} ended {State}: {Labeled} labeled, {Errors} errors. {Reason}")]
    private static partial void LogEnded(ILogger logger, string jobId, JobState state, long labeled, long errors, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: storage call failed while {Activity}; will retry")]
    private static partial void LogStorageRetry(ILogger logger, Exception exception, string jobId, string activity);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: state was changed by another activation; deactivating to reload it")]
    private static partial void LogInconsistentState(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId}: its images are committed into ledger {LedgerId}")]
    private static partial void LogLedgerCommitted(ILogger logger, string jobId, string ledgerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} shard {ShardId}: completion from {Silo} names a lease this shard never had; ignored")]
    private static partial void LogUnknownLease(ILogger logger, string jobId, int shardId, string silo);
}
