using System.Diagnostics;
using System.Text.RegularExpressions;
using Azure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Models;
using MobileNet.Orleans.Contracts.Storage;
using MobileNet.Orleans.Grains.Diagnostics;
using MobileNet.Orleans.Grains.Storage;
using Orleans.Storage;

namespace MobileNet.Orleans.Grains.Jobs;

/// <summary>
/// Owns one job (key: job id). Lists the source into shards in short timer turns, hands shards out as leases to the
/// silos' workers (which pull), takes leases back when their worker goes silent, retries failed shards a bounded
/// number of times, and ends the job. Its state lives in grain storage, so a reactivation on another silo carries on.
/// </summary>
public sealed partial class JobCoordinatorGrain(
    [PersistentState("job", "jobs")] IPersistentState<JobCoordinatorState> store,
    JobStorage storage,
    JobMetrics metrics,
    IOptions<CoordinatorOptions> options,
    ILogger<JobCoordinatorGrain> logger) : Grain, IJobCoordinatorGrain, IRemindable
{
    private const string ReminderName = "keep-job-alive";
    private const int MaxReportedShardFailures = 20;
    private const int MaxReasonLength = 400;

    private readonly CoordinatorOptions settings = options.Value;
    // Lowest id first: shards handed back or retried go out again before newer ones.
    private readonly SortedSet<int> pending = [];
    // Progress of running shards as last reported by their workers; in memory only (final counts come with completion).
    private readonly Dictionary<int, ShardProgress> running = [];
    private readonly List<(DateTimeOffset At, long Processed)> rateSamples = [];
    private readonly List<string> listingBuffer = [];
    private IGrainTimer? listingTimer;
    private IGrainTimer? housekeepingTimer;
    private SourceCursor? cursor;
    private DateTimeOffset listingRetryAt;
    private TimeSpan listingBackoff;
    private bool dirty;
    private DateTimeOffset lastPersist;
    // Set by interleaved calls (renewals) that cannot await; the next housekeeping turn ends the job.
    private string? pendingFailure;
    // Last time a storage call of this coordinator failed: shard losses around an outage are not the shard's fault.
    private DateTimeOffset lastStorageFailure = DateTimeOffset.MinValue;

    private JobCoordinatorState State => store.State;

    private string JobKey => this.GetPrimaryKeyString();

    private JobSpec Spec => State.Spec ?? throw new InvalidOperationException("job has no spec");

    private bool IsTerminal => State.State is JobState.Completed or JobState.Failed or JobState.Cancelled;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (State.Spec is null)
        {
            return Task.CompletedTask;
        }

        var now = DateTimeOffset.UtcNow;
        foreach (var shard in State.Shards)
        {
            switch (shard.Status)
            {
                case ShardStatus.Pending:
                    pending.Add(shard.Id);
                    break;
                case ShardStatus.Leased:
                    // Workers may still hold these leases: give them a full period to renew before redoing the work.
                    shard.LeaseExpiresAt = now + settings.LeaseDuration;
                    break;
            }
        }

        LogActivated(logger, JobKey, State.State, State.Shards.Count, pending.Count);
        StartTimers();
        return Task.CompletedTask;
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
        if (State.Spec is { } existing)
        {
            // A retried submit (the client timed out, say) must not start a second job.
            return existing == spec
                ? BuildStatus()
                : throw new ArgumentException($"job id '{JobKey}' is already used by another job");
        }

        var models = storage.Coordinator.GetBlobContainerClient(ModelStoreLayout.Container);
        if (!await models.GetBlobClient(ModelStoreLayout.ManifestBlob(spec.ModelName)).ExistsAsync())
        {
            throw new ArgumentException($"model '{spec.ModelName}' is not in the model store: upload it with 'mobilenet models upload {spec.ModelName} --file <model.onnx>'");
        }

        var source = storage.Coordinator.GetBlobContainerClient(spec.Source.Container);
        if (!await source.ExistsAsync())
        {
            throw new ArgumentException($"source container '{spec.Source.Container}' does not exist");
        }

        if (spec.ManifestBlob is { } manifest && !await source.GetBlobClient(manifest).ExistsAsync())
        {
            throw new ArgumentException($"manifest blob '{manifest}' does not exist in container '{spec.Source.Container}'");
        }

        if (spec.ManifestBlob is null && !await BlobProbe.HasAnyBlobAsync(source, spec.Source.Prefix))
        {
            throw new ArgumentException($"no blobs under '{spec.Source}'; check the prefix, or upload images with 'mobilenet upload <dir> --to {spec.Source.ToString().TrimEnd('/')}'");
        }

        await storage.Coordinator.GetBlobContainerClient(spec.Output.Container).CreateIfNotExistsAsync();

        State.JobId = JobKey;
        State.Spec = spec;
        State.State = JobState.Pending;
        State.SubmittedAt = DateTimeOffset.UtcNow;
        await PersistAsync();
        LogSubmitted(logger, JobKey, spec.Source.ToString(), spec.ModelName, spec.ShardSize);

        await this.RegisterOrUpdateReminder(ReminderName, settings.ReminderPeriod, settings.ReminderPeriod);
        await TryRegisterAsync();
        StartTimers();
        return BuildStatus();
    }

    public Task<JobStatus> GetStatusAsync()
    {
        if (State.Spec is null)
        {
            // Nothing to keep in memory for an id nobody submitted.
            DeactivateOnIdle();
            throw new KeyNotFoundException($"job '{JobKey}' not found");
        }

        return Task.FromResult(BuildStatus());
    }

    public async Task<JobStatus> CancelAsync()
    {
        if (State.Spec is null)
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
        if (State.Spec is null || IsTerminal || pendingFailure is not null || maxShards <= 0 || pending.Count == 0)
        {
            return [];
        }

        var spec = Spec;
        var now = DateTimeOffset.UtcNow;
        var granted = new List<(ShardRecord Shard, ShardStatus Status, int Attempts, Guid LeaseId, string? Silo)>();
        while (granted.Count < maxShards && pending.Count > 0)
        {
            var id = pending.Min;
            pending.Remove(id);
            var shard = State.Shards[id];
            if (shard.Status != ShardStatus.Pending)
            {
                continue;
            }

            granted.Add((shard, shard.Status, shard.Attempts, shard.LeaseId, shard.Silo));
            shard.Status = ShardStatus.Leased;
            shard.Attempts++;
            shard.LeaseId = Guid.NewGuid();
            ShardLeaseHistory.Remember(shard, shard.LeaseId);
            shard.LeaseExpiresAt = now + settings.LeaseDuration;
            shard.Silo = silo;
            running[id] = new ShardProgress();
        }

        if (granted.Count == 0)
        {
            return [];
        }

        try
        {
            // Stored before the worker hears of it, so a coordinator that moves still recognises the lease.
            await PersistAsync();
        }
        catch
        {
            lastStorageFailure = DateTimeOffset.UtcNow;
            foreach (var (shard, status, attempts, leaseId, previousSilo) in granted)
            {
                ShardLeaseHistory.Forget(shard, shard.LeaseId);
                shard.Status = status;
                shard.Attempts = attempts;
                shard.LeaseId = leaseId;
                shard.Silo = previousSilo;
                running.Remove(shard.Id);
                pending.Add(shard.Id);
            }

            throw;
        }

        var leases = new List<ShardLease>(granted.Count);
        foreach (var (shard, _, _, _, _) in granted)
        {
            LogLeased(logger, JobKey, shard.Id, silo, shard.Attempts);
            leases.Add(new ShardLease
            {
                Lease = new ShardLeaseRef { JobId = JobKey, ShardId = shard.Id, LeaseId = shard.LeaseId, Silo = silo },
                Attempt = shard.Attempts,
                MaxAttempts = spec.MaxShardAttempts,
                SourceContainer = spec.Source.Container,
                ManifestBlob = JobOutputLayout.ShardManifest(spec.Output, JobKey, shard.Id),
                ResultBlob = JobOutputLayout.ShardResult(spec.Output, JobKey, shard.Id),
                ModelName = spec.ModelName,
                TopK = spec.TopK,
                LeaseDuration = settings.LeaseDuration,
                ImageCount = shard.ImageCount,
            });
        }

        return leases;
    }

    public Task<LeaseVerdict> RenewLeaseAsync(ShardLeaseRef lease, ShardProgress progress)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(progress);
        // Interleaved with other turns: no awaits here, only in-memory updates.
        if (State.Spec is null || IsTerminal || pendingFailure is not null || !IsCurrent(lease, out var shard))
        {
            return Task.FromResult(LeaseVerdict.Stop);
        }

        shard.LeaseExpiresAt = DateTimeOffset.UtcNow + settings.LeaseDuration;
        running[shard.Id] = progress;
        if (ThresholdFailure() is { } reason)
        {
            pendingFailure = reason;
            return Task.FromResult(LeaseVerdict.Stop);
        }

        return Task.FromResult(LeaseVerdict.Continue);
    }

    public async Task CompleteShardAsync(ShardLeaseRef lease, ShardProgress outcome)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(outcome);
        if (State.Spec is null || lease.JobId != JobKey || lease.ShardId < 0 || lease.ShardId >= State.Shards.Count)
        {
            return;
        }

        var shard = State.Shards[lease.ShardId];
        if (shard.Status is ShardStatus.Done or ShardStatus.Failed)
        {
            LogStaleReport(logger, JobKey, shard.Id, "completion", shard.Status);
            return;
        }

        if (!ShardLeaseHistory.WasIssued(shard, lease.LeaseId))
        {
            LogUnknownLease(logger, JobKey, shard.Id, lease.Silo ?? "?");
            return;
        }

        // Result blobs are whole and self-contained, so a completion from an older lease is as good as the current
        // one: accept it (the current holder gets Stop at its next renewal) rather than redo the work.
        pending.Remove(shard.Id);
        running.Remove(shard.Id);
        shard.Status = ShardStatus.Done;
        shard.Labeled = outcome.Labeled;
        shard.Errors = outcome.Errors;
        shard.Silo = lease.Silo ?? shard.Silo;
        shard.LastError = null;
        dirty = true;
        LogShardCompleted(logger, JobKey, shard.Id, shard.Silo ?? "?", outcome.Labeled, outcome.Errors);
        await EvaluateAsync();
    }

    public async Task FailShardAsync(ShardLeaseRef lease, string reason)
    {
        ArgumentNullException.ThrowIfNull(lease);
        if (State.Spec is null || IsTerminal || !IsCurrent(lease, out var shard))
        {
            return;
        }

        running.Remove(shard.Id);
        if (reason.StartsWith("storage error", StringComparison.Ordinal) && DuringStorageOutage(DateTimeOffset.UtcNow))
        {
            // The outage this coordinator also saw: retry the shard without using an attempt.
            shard.Attempts = Math.Max(0, shard.Attempts - 1);
        }

        RecordAttemptFailure(shard, reason);
        await EvaluateAsync();
    }

    public Task ReleaseShardAsync(ShardLeaseRef lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        if (State.Spec is null || IsTerminal || !IsCurrent(lease, out var shard))
        {
            return Task.CompletedTask;
        }

        // A draining silo hands the shard back: not the shard's fault, so the attempt is not counted.
        running.Remove(shard.Id);
        shard.Status = ShardStatus.Pending;
        shard.Attempts = Math.Max(0, shard.Attempts - 1);
        shard.LeaseId = Guid.Empty;
        shard.Silo = null;
        pending.Add(shard.Id);
        State.ShardsRedispatched++;
        dirty = true;
        LogReleased(logger, JobKey, shard.Id, lease.Silo ?? "?");
        return Task.CompletedTask;
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        // Activation already restarted listing and lease checks; the reminder only has to bring the grain back.
        return State.Spec is null || (IsTerminal && State.EndRecorded)
            ? UnregisterReminderAsync()
            : Task.CompletedTask;
    }

    private void StartTimers()
    {
        if (State.Spec is null)
        {
            return;
        }

        if (!IsTerminal && !State.ListingComplete && listingTimer is null)
        {
            listingTimer = this.RegisterGrainTimer(
                ListingTurnAsync,
                new GrainTimerCreationOptions(TimeSpan.Zero, TimeSpan.FromMilliseconds(50)) { Interleave = false, KeepAlive = true });
        }

        if ((!IsTerminal || !State.EndRecorded) && housekeepingTimer is null)
        {
            housekeepingTimer = this.RegisterGrainTimer(
                HousekeepingTurnAsync,
                new GrainTimerCreationOptions(settings.HousekeepingInterval, settings.HousekeepingInterval) { Interleave = false, KeepAlive = true });
        }
    }

    private async Task ListingTurnAsync(CancellationToken cancellationToken)
    {
        if (IsTerminal || State.ListingComplete || pendingFailure is not null)
        {
            StopListing();
            return;
        }

        if (DateTimeOffset.UtcNow < listingRetryAt)
        {
            return;
        }

        var spec = Spec;
        var excluded = spec.Source.Container == spec.Output.Container ? JobOutputLayout.JobFolder(spec.Output, JobKey) : null;
        var budget = Stopwatch.StartNew();
        var cut = 0;
        try
        {
            cursor ??= SourceCursor.Open(storage.Coordinator, spec, State.ListingCheckpoint);
            do
            {
                // Never read past a shard boundary, so the cursor's checkpoint is exactly where the next shard starts.
                var batch = await cursor.ReadAsync(spec.ShardSize - listingBuffer.Count, cancellationToken);
                foreach (var name in batch.Names)
                {
                    if (excluded is null || !name.StartsWith(excluded, StringComparison.Ordinal))
                    {
                        listingBuffer.Add(name);
                    }
                }

                if (listingBuffer.Count >= spec.ShardSize || (batch.End && listingBuffer.Count > 0))
                {
                    await CutShardAsync(spec, cancellationToken);
                    cut++;
                }

                if (batch.End)
                {
                    State.ListingComplete = true;
                    State.ListingCheckpoint = null;
                    dirty = true;
                    LogListingComplete(logger, JobKey, State.ListedImages, State.Shards.Count);
                }
            }
            while (!State.ListingComplete && budget.Elapsed < settings.ListingTurnBudget);

            listingBackoff = TimeSpan.Zero;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            var what = spec.ManifestBlob is { } manifest ? $"manifest blob '{spec.Source.Container}/{manifest}'" : $"source container '{spec.Source.Container}'";
            await EndJobAsync(JobState.Failed, $"{what} not found while listing ({ex.ErrorCode})");
            return;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Storage trouble: start again from the last cut after a growing pause.
            listingBackoff = listingBackoff == TimeSpan.Zero ? TimeSpan.FromSeconds(1) : TimeSpan.FromTicks(Math.Min(listingBackoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            listingRetryAt = DateTimeOffset.UtcNow + listingBackoff;
            lastStorageFailure = DateTimeOffset.UtcNow;
            listingBuffer.Clear();
            await ResetCursorAsync();
            LogListingRetry(logger, ex, JobKey, listingBackoff.TotalSeconds);
        }

        if (cut > 0 || State.ListingComplete)
        {
            await TryPersistAsync();
        }

        if (State.ListingComplete)
        {
            StopListing();
            await EvaluateAsync();
        }
    }

    private async Task CutShardAsync(JobSpec spec, CancellationToken cancellationToken)
    {
        var id = State.Shards.Count;
        var blob = JobOutputLayout.ShardManifest(spec.Output, JobKey, id);
        await ShardManifestFile.WriteAsync(
            storage.Coordinator.GetBlobContainerClient(blob.Container).GetBlobClient(blob.Prefix), listingBuffer, cancellationToken);
        State.Shards.Add(new ShardRecord { Id = id, Status = ShardStatus.Pending, ImageCount = listingBuffer.Count });
        State.ListedImages += listingBuffer.Count;
        State.ListingCheckpoint = cursor?.Checkpoint;
        listingBuffer.Clear();
        pending.Add(id);
        if (State.State == JobState.Pending)
        {
            State.State = JobState.Running;
            State.StartedAt = DateTimeOffset.UtcNow;
        }

        dirty = true;
    }

    private async Task HousekeepingTurnAsync(CancellationToken cancellationToken)
    {
        if (IsTerminal)
        {
            await RecordEndAsync();
            if (State.EndRecorded)
            {
                housekeepingTimer?.Dispose();
                housekeepingTimer = null;
            }

            await TryPersistAsync();
            return;
        }

        if (!State.Registered)
        {
            await TryRegisterAsync();
        }

        ExpireLeases();
        await WriteFailedShardRowsAsync(cancellationToken);
        SampleRate();
        metrics.SetPending(JobKey, Math.Max(0, State.ListedImages - Processed()));
        await EvaluateAsync();
        if (dirty && DateTimeOffset.UtcNow - lastPersist >= settings.PersistInterval)
        {
            await TryPersistAsync();
        }
    }

    private void ExpireLeases()
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var shard in State.Shards)
        {
            if (shard.Status == ShardStatus.Leased && shard.LeaseExpiresAt < now)
            {
                running.Remove(shard.Id);
                State.ShardsRedispatched++;
                LogLeaseExpired(logger, JobKey, shard.Id, shard.Silo ?? "?");
                if (DuringStorageOutage(now))
                {
                    // Renewals may have failed because this coordinator was stuck on storage: redo without using an attempt.
                    shard.Attempts = Math.Max(0, shard.Attempts - 1);
                }

                RecordAttemptFailure(shard, $"lease expired: silo {shard.Silo ?? "?"} stopped renewing (died or unreachable)");
            }
        }
    }

    private void RecordAttemptFailure(ShardRecord shard, string reason)
    {
        var clean = CleanReason(reason);
        shard.LastError = clean;
        shard.LeaseId = Guid.Empty;
        dirty = true;
        if (shard.Attempts >= Spec.MaxShardAttempts)
        {
            // Spent: the shard's images become error rows (written by housekeeping), never another loop.
            shard.Status = ShardStatus.Failed;
            shard.Labeled = 0;
            shard.Errors = shard.ImageCount;
            shard.ErrorRowsWritten = false;
            shard.Silo = null;
            LogShardFailed(logger, JobKey, shard.Id, shard.Attempts, clean);
        }
        else
        {
            shard.Status = ShardStatus.Pending;
            shard.Silo = null;
            pending.Add(shard.Id);
            LogShardRetry(logger, JobKey, shard.Id, shard.Attempts, clean);
        }
    }

    private async Task WriteFailedShardRowsAsync(CancellationToken cancellationToken)
    {
        var spec = Spec;
        var written = 0;
        foreach (var shard in State.Shards)
        {
            if (shard.Status != ShardStatus.Failed || shard.ErrorRowsWritten || written >= 4)
            {
                continue;
            }

            try
            {
                var manifest = JobOutputLayout.ShardManifest(spec.Output, JobKey, shard.Id);
                var result = JobOutputLayout.ShardResult(spec.Output, JobKey, shard.Id);
                var container = storage.Coordinator.GetBlobContainerClient(result.Container);
                await FailedShardResults.WriteAsync(
                    container.GetBlobClient(manifest.Prefix), container.GetBlobClient(result.Prefix), shard.LastError ?? "failed", cancellationToken);
                shard.ErrorRowsWritten = true;
                dirty = true;
                written++;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                lastStorageFailure = DateTimeOffset.UtcNow;
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

        if ((pendingFailure ?? ThresholdFailure()) is { } reason)
        {
            await EndJobAsync(JobState.Failed, reason);
            return;
        }

        if (!State.ListingComplete)
        {
            return;
        }

        if (State.Shards.Count == 0)
        {
            await EndJobAsync(JobState.Failed, $"no images found under {Spec.Source}");
            return;
        }

        foreach (var shard in State.Shards)
        {
            if (shard.Status is ShardStatus.Pending or ShardStatus.Leased || (shard.Status == ShardStatus.Failed && !shard.ErrorRowsWritten))
            {
                return;
            }
        }

        await EndJobAsync(JobState.Completed, null);
    }

    private string? ThresholdFailure()
    {
        if (Spec.MaxErrors is not { } threshold)
        {
            return null;
        }

        var errors = Totals().Errors;
        // A fraction is judged against the whole dataset, so only once its size is known; a count at any time.
        var exceeded = threshold.MaxCount is { } max
            ? errors > max
            : State.ListingComplete && threshold.IsExceeded(errors, State.ListedImages);
        return exceeded
            ? $"error threshold exceeded: {errors} of {State.ListedImages} images could not be labeled (allowed: {threshold})"
            : null;
    }

    private async Task EndJobAsync(JobState final, string? reason)
    {
        State.State = final;
        State.EndedAt = DateTimeOffset.UtcNow;
        State.FailureReason = reason;
        State.StartedAt ??= State.EndedAt;
        pendingFailure = null;
        dirty = true;
        StopListing();
        metrics.SetPending(JobKey, 0);
        var (labeledCount, errorCount) = Totals();
        LogEnded(logger, JobKey, final, labeledCount, errorCount, reason ?? "");
        await TryPersistAsync();
        await RecordEndAsync();
        StartTimers();
    }

    /// <summary>Writes the summary blob, takes the job off the active list and drops the reminder; retried until done.</summary>
    private async Task RecordEndAsync()
    {
        if (State.EndRecorded)
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
            State.EndRecorded = true;
            dirty = true;
            await PersistAsync();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            lastStorageFailure = DateTimeOffset.UtcNow;
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
            await GrainFactory.GetGrain<IJobRegistryGrain>(0).RegisterAsync(new JobEntry { JobId = JobKey, SubmittedAt = State.SubmittedAt });
            State.Registered = true;
            dirty = true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            lastStorageFailure = DateTimeOffset.UtcNow;
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

    private async Task PersistAsync()
    {
        try
        {
            await store.WriteStateAsync();
            dirty = false;
            lastPersist = DateTimeOffset.UtcNow;
        }
        catch (InconsistentStateException ex)
        {
            // Another activation wrote the job (a split during a membership change): drop this one and reload.
            LogInconsistentState(logger, ex, JobKey);
            DeactivateOnIdle();
            throw;
        }
    }

    private async Task TryPersistAsync()
    {
        try
        {
            await PersistAsync();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            lastStorageFailure = DateTimeOffset.UtcNow;
            LogStorageRetry(logger, ex, JobKey, "saving job state");
        }
    }

    private bool DuringStorageOutage(DateTimeOffset now) => now - lastStorageFailure < settings.LeaseDuration * 2;

    private bool IsCurrent(ShardLeaseRef lease, out ShardRecord shard)
    {
        shard = null!;
        if (lease.JobId != JobKey || lease.ShardId < 0 || lease.ShardId >= State.Shards.Count)
        {
            return false;
        }

        shard = State.Shards[lease.ShardId];
        return shard.Status == ShardStatus.Leased && shard.LeaseId == lease.LeaseId;
    }

    /// <summary>Labeled and error counts in one pass over the shards: done and failed shards, plus running ones' reports.</summary>
    private (long Labeled, long Errors) Totals()
    {
        long labeled = 0, errors = 0;
        foreach (var shard in State.Shards)
        {
            if (shard.Status is ShardStatus.Done or ShardStatus.Failed)
            {
                labeled += shard.Labeled;
                errors += shard.Errors;
            }
            // Once the job ended, running shards' partial progress is not in the results: not counted.
            else if (shard.Status == ShardStatus.Leased && !IsTerminal && running.TryGetValue(shard.Id, out var p))
            {
                labeled += p.Labeled;
                errors += p.Errors;
            }
        }

        return (labeled, errors);
    }

    private long Processed()
    {
        var (labeled, errors) = Totals();
        return labeled + errors;
    }

    private void SampleRate()
    {
        var now = DateTimeOffset.UtcNow;
        rateSamples.Add((now, Processed()));
        rateSamples.RemoveAll(s => now - s.At > settings.RateWindow);
    }

    private JobStatus BuildStatus()
    {
        var spec = Spec;
        int done = 0, leased = 0, waiting = 0, failed = 0;
        var silos = new Dictionary<string, (long Labeled, long Errors)>(StringComparer.Ordinal);
        var failures = new List<ShardFailure>();
        foreach (var shard in State.Shards)
        {
            (long labeled, long errors) counts = (0, 0);
            switch (shard.Status)
            {
                case ShardStatus.Done:
                    done++;
                    counts = (shard.Labeled, shard.Errors);
                    break;
                case ShardStatus.Leased when IsTerminal:
                    // Told to stop at their next renewal: nothing runs for an ended job.
                    waiting++;
                    break;
                case ShardStatus.Leased:
                    leased++;
                    if (running.TryGetValue(shard.Id, out var progress))
                    {
                        counts = (progress.Labeled, progress.Errors);
                    }

                    break;
                case ShardStatus.Pending:
                    waiting++;
                    break;
                case ShardStatus.Failed:
                    failed++;
                    if (failures.Count < MaxReportedShardFailures)
                    {
                        failures.Add(new ShardFailure { ShardId = shard.Id, Attempts = shard.Attempts, Images = shard.ImageCount, Reason = shard.LastError ?? "failed" });
                    }

                    break;
            }

            if (shard.Silo is { } silo && (counts.labeled > 0 || counts.errors > 0))
            {
                var current = silos.GetValueOrDefault(silo);
                silos[silo] = (current.Labeled + counts.labeled, current.Errors + counts.errors);
            }
        }

        var (labeledTotal, errorsTotal) = Totals();
        var rate = CurrentRate();
        TimeSpan? eta = null;
        if (!IsTerminal && rate > 0)
        {
            var remaining = Math.Max(0, State.ListedImages - labeledTotal - errorsTotal);
            eta = TimeSpan.FromSeconds(Math.Ceiling(remaining / rate));
        }
        else if (IsTerminal)
        {
            eta = TimeSpan.Zero;
        }

        return new JobStatus
        {
            JobId = JobKey,
            State = State.State,
            Spec = spec,
            TotalImages = State.ListedImages,
            ListingComplete = State.ListingComplete,
            Labeled = labeledTotal,
            Errors = errorsTotal,
            ShardsTotal = State.Shards.Count,
            ShardsDone = done,
            ShardsRunning = leased,
            ShardsPending = waiting,
            ShardsFailed = failed,
            ImagesPerSecond = IsTerminal ? AverageRate(labeledTotal + errorsTotal) : rate,
            Eta = eta,
            Silos = silos.OrderBy(s => s.Key, StringComparer.Ordinal)
                .Select(s => new SiloShare { Silo = s.Key, Labeled = s.Value.Labeled, Errors = s.Value.Errors })
                .ToArray(),
            SubmittedAt = State.SubmittedAt,
            StartedAt = State.StartedAt,
            EndedAt = State.EndedAt,
            FailureReason = State.FailureReason,
            ShardsRedispatched = State.ShardsRedispatched,
            FailedShards = failures,
        };
    }

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
        if (State.StartedAt is not { } started || State.EndedAt is not { } ended)
        {
            return 0;
        }

        var seconds = (ended - started).TotalSeconds;
        return seconds <= 0 ? 0 : processed / seconds;
    }

    private static string CleanReason(string reason)
    {
        var line = LineBreaks().Replace(reason ?? "failed", " ").Trim();
        return line.Length <= MaxReasonLength ? line : line[..MaxReasonLength] + "...";
    }

    [GeneratedRegex(@"[\r\n\t]+", RegexOptions.CultureInvariant)]
    private static partial Regex LineBreaks();

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} submitted: source {Source}, model {Model}, shard size {ShardSize}")]
    private static partial void LogSubmitted(ILogger logger, string jobId, string source, string model, int shardSize);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} activated in state {State} with {Shards} shards ({Pending} pending)")]
    private static partial void LogActivated(ILogger logger, string jobId, JobState state, int shards, int pending);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} listing complete: {Images} images in {Shards} shards")]
    private static partial void LogListingComplete(ILogger logger, string jobId, long images, int shards);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} listing failed; retrying in {Seconds} s")]
    private static partial void LogListingRetry(ILogger logger, Exception exception, string jobId, double seconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} shard {ShardId} leased to {Silo} (attempt {Attempt})")]
    private static partial void LogLeased(ILogger logger, string jobId, int shardId, string silo, int attempt);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} shard {ShardId} completed by {Silo}: {Labeled} labeled, {Errors} errors")]
    private static partial void LogShardCompleted(ILogger logger, string jobId, int shardId, string silo, int labeled, int errors);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} shard {ShardId}: ignored stale {Report} (shard is {Status})")]
    private static partial void LogStaleReport(ILogger logger, string jobId, int shardId, string report, ShardStatus status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} shard {ShardId} attempt {Attempt} failed, will retry: {Reason}")]
    private static partial void LogShardRetry(ILogger logger, string jobId, int shardId, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} shard {ShardId} failed all {Attempts} attempts; its images become error rows: {Reason}")]
    private static partial void LogShardFailed(ILogger logger, string jobId, int shardId, int attempts, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} shard {ShardId}: lease of silo {Silo} expired; shard goes to another worker")]
    private static partial void LogLeaseExpired(ILogger logger, string jobId, int shardId, string silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} shard {ShardId} handed back by draining silo {Silo}")]
    private static partial void LogReleased(ILogger logger, string jobId, int shardId, string silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} ended {State}: {Labeled} labeled, {Errors} errors. {Reason}")]
    private static partial void LogEnded(ILogger logger, string jobId, JobState state, long labeled, long errors, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: storage call failed while {Activity}; will retry")]
    private static partial void LogStorageRetry(ILogger logger, Exception exception, string jobId, string activity);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: state was changed by another activation; deactivating to reload it")]
    private static partial void LogInconsistentState(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} shard {ShardId}: completion from {Silo} names a lease this shard never had; ignored")]
    private static partial void LogUnknownLease(ILogger logger, string jobId, int shardId, string silo);
}
