using System.Text.RegularExpressions;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Grains.Jobs.State;

namespace MobileNet.Orleans.Grains.Jobs.Ledger;

/// <summary>
/// The shard-state rules of one job, in memory and without I/O: cutting shards, leasing, renewing, completing,
/// failing, handing back, expiring leases, counting attempts, the error threshold and ending the job. The grain
/// persists what <see cref="DirtySegments"/> names and schedules the turns; time comes from the injected
/// <see cref="TimeProvider"/>.
/// </summary>
/// <remarks>
/// Memory is O(shards in flight + segments): a shard is a 36-byte slot, leases live in a dictionary of those in
/// flight, and a segment whose shards are all finished and stored drops its slots (any later report for it is stale).
/// Never-leased shards are the ids from <see cref="Frontier"/> up; shards to redo wait in a sorted set.
/// </remarks>
public sealed partial class ShardLedger
{
    private const int MaxReportedShardFailures = 20;
    private const int MaxReasonLength = 400;

    private readonly ShardLedgerSettings settings;
    private readonly TimeProvider time;
    private readonly List<Segment> segments = [];
    // Lowest id first: shards handed back or retried go out again before newer ones.
    private readonly SortedSet<int> retry = [];
    private readonly Dictionary<int, LiveLease> live = [];
    private readonly Dictionary<int, string> lastErrors = [];
    private readonly SortedSet<int> needErrorRows = [];
    private readonly List<string> silos = [];
    private readonly Dictionary<string, int> siloIndex = new(StringComparer.Ordinal);
    private readonly Dictionary<int, (long Labeled, long Errors)> siloTotals = [];
    private readonly List<ShardFailure> failures = [];
    private long liveLabeled;
    private long liveErrors;

    public ShardLedger(ShardLedgerSettings settings, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.SegmentSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.MaxAttempts, 1);
        this.settings = settings;
        this.time = time;
    }

    public int ShardCount { get; private set; }

    public long ListedImages { get; private set; }

    public bool ListingComplete { get; private set; }

    /// <summary>Shards from this id up have never been leased.</summary>
    public int Frontier { get; private set; }

    /// <summary>Set once the job ended (completed, failed, cancelled): nothing is leased and every renewal hears stop.</summary>
    public bool IsEnded { get; private set; }

    /// <summary>Set by a renewal that saw the error threshold exceeded; the grain's next turn ends the job.</summary>
    public string? PendingFailure { get; private set; }

    public int ShardsDone { get; private set; }

    public int ShardsFailed { get; private set; }

    public int ShardsLeased => live.Count;

    /// <summary>Images of the shards that failed every attempt (their error rows say <c>shard-failed</c>).</summary>
    public long FailedShardImages { get; private set; }

    public int ShardsPending => retry.Count + (ShardCount - Frontier);

    public int ShardsRedispatched { get; private set; }

    public int SegmentCount => segments.Count;

    /// <summary>Segments whose slots are in memory (the rest are finished and stored).</summary>
    public int ResidentSegments => segments.Count(s => s.Slots is not null);

    /// <summary>Labeled images: finished shards, plus running ones' reports while the job runs.</summary>
    public long Labeled => FinishedLabeled + (IsEnded ? 0 : liveLabeled);

    public long Errors => FinishedErrors + (IsEnded ? 0 : liveErrors);

    public long Processed => Labeled + Errors;

    private long FinishedLabeled { get; set; }

    /// <summary>Labeled images of done shards that met the job's review rule.</summary>
    public long ForReview { get; private set; }

    /// <summary>Labeled images of done shards whose blob was left untagged.</summary>
    public long TagsSkipped { get; private set; }

    private long FinishedErrors { get; set; }

    /// <summary>Failed shards whose error rows are not written yet (the grain writes them, then calls <see cref="MarkErrorRowsWritten"/>).</summary>
    public IReadOnlyCollection<int> ShardsNeedingErrorRows => needErrorRows;

    /// <summary>The first shards that failed every attempt.</summary>
    public IReadOnlyList<ShardFailure> FailedShards => failures;

    /// <summary>Images labeled and errors per silo (finished shards, plus running ones while the job runs).</summary>
    public IReadOnlyList<SiloShare> SiloShares()
    {
        var totals = new Dictionary<string, (long Labeled, long Errors)>(StringComparer.Ordinal);
        foreach (var (silo, counts) in siloTotals)
        {
            totals[silos[silo]] = counts;
        }

        if (!IsEnded)
        {
            foreach (var lease in live.Values)
            {
                var current = totals.GetValueOrDefault(lease.Silo);
                totals[lease.Silo] = (current.Labeled + lease.Progress.Labeled, current.Errors + lease.Progress.Errors);
            }
        }

        return totals.Where(t => t.Value.Labeled > 0 || t.Value.Errors > 0)
            .OrderBy(t => t.Key, StringComparer.Ordinal)
            .Select(t => new SiloShare { Silo = t.Key, Labeled = t.Value.Labeled, Errors = t.Value.Errors })
            .ToArray();
    }

    /// <summary>Every shard cut so far is done or failed with its error rows written (a <c>--follow</c> round may end).</summary>
    public bool NothingInFlight => ShardsPending == 0 && live.Count == 0 && needErrorRows.Count == 0;

    /// <summary>True when listing is over and every shard is done or failed with its error rows written.</summary>
    public bool AllShardsFinished =>
        ListingComplete && ShardCount > 0 && ShardsPending == 0 && live.Count == 0 && needErrorRows.Count == 0;

    /// <summary>
    /// Adds the next shard (listing order); returns its id. <paramref name="manifest"/> says where its names are: a
    /// range of the manifest blob of the group starting at shard <see cref="ShardManifestRef.Group"/> (default: a
    /// blob of its own).
    /// </summary>
    public int AddShard(int imageCount, ShardManifestRef? manifest = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(imageCount, 1);
        if (ListingComplete)
        {
            throw new InvalidOperationException("listing is complete: no shard can be added");
        }

        var id = ShardCount;
        var segment = SegmentOf(id, create: true)!;
        var where = manifest ?? new ShardManifestRef(id, 0, 0);
        if (where.Group < 0 || where.Group > id || where.Offset < 0 || where.Length < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(manifest), "a shard's manifest group starts at or before the shard");
        }

        segment.Slots![id - segment.First] = new ShardSlot
        {
            Status = ShardStatus.Pending,
            ImageCount = imageCount,
            Silo = -1,
            ManifestGroup = where.Group,
            ManifestOffset = where.Offset,
            ManifestLength = where.Length,
        };
        segment.Count++;
        segment.Unfinished++;
        segment.Touch();
        ShardCount++;
        ListedImages += imageCount;
        return id;
    }

    public void CompleteListing() => ListingComplete = true;

    /// <summary>
    /// Hands up to <paramref name="maxShards"/> pending shards to <paramref name="silo"/>: retried ones first, then
    /// new ones in listing order. The caller stores the touched segments before telling the worker, and calls
    /// <see cref="Rollback"/> if it cannot.
    /// </summary>
    public IReadOnlyList<ShardGrant> Lease(string silo, int maxShards)
    {
        ArgumentException.ThrowIfNullOrEmpty(silo);
        if (IsEnded || PendingFailure is not null || maxShards <= 0)
        {
            return [];
        }

        var now = time.GetUtcNow();
        var granted = new List<ShardGrant>(Math.Min(maxShards, ShardsPending));
        while (granted.Count < maxShards && ShardsPending > 0)
        {
            int id;
            if (retry.Count > 0)
            {
                id = retry.Min;
                retry.Remove(id);
            }
            else
            {
                id = Frontier++;
            }

            var segment = SegmentOf(id)!;
            ref var slot = ref segment.Slots![id - segment.First];
            slot.Status = ShardStatus.Leased;
            slot.Attempts++;
            slot.Silo = SiloIndex(silo);
            var lease = new LiveLease(Guid.NewGuid(), silo, now + settings.LeaseDuration);
            live[id] = lease;
            segment.Touch();
            granted.Add(new ShardGrant(id, lease.LeaseId, slot.Attempts, slot.ImageCount, new ShardManifestRef(slot.ManifestGroup, slot.ManifestOffset, slot.ManifestLength)));
        }

        return granted;
    }

    /// <summary>Undoes grants whose lease could not be stored: the worker never heard of them, so nothing was used.</summary>
    public void Rollback(IEnumerable<ShardGrant> grants)
    {
        ArgumentNullException.ThrowIfNull(grants);
        foreach (var grant in grants)
        {
            if (!live.TryGetValue(grant.ShardId, out var lease) || lease.LeaseId != grant.LeaseId)
            {
                continue;
            }

            DropLive(grant.ShardId, lease);
            var segment = SegmentOf(grant.ShardId)!;
            ref var slot = ref segment.Slots![grant.ShardId - segment.First];
            slot.Status = ShardStatus.Pending;
            slot.Attempts--;
            slot.Silo = -1;
            segment.Touch();
            retry.Add(grant.ShardId);
        }
    }

    /// <summary>The worker is alive: extends its lease and takes its progress. Stop when the lease is not current or the job ended.</summary>
    public LeaseVerdict Renew(ShardLeaseRef lease, ShardProgress progress)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(progress);
        if (IsEnded || PendingFailure is not null || !TryGetCurrent(lease, out var current))
        {
            return LeaseVerdict.Stop;
        }

        current.ExpiresAt = time.GetUtcNow() + settings.LeaseDuration;
        if (IsPlausible(progress, ImageCountOf(lease.ShardId)))
        {
            liveLabeled += progress.Labeled - current.Progress.Labeled;
            liveErrors += progress.Errors - current.Progress.Errors;
            current.Progress = progress;
        }

        if (ThresholdFailure() is { } reason)
        {
            PendingFailure = reason;
            return LeaseVerdict.Stop;
        }

        return LeaseVerdict.Continue;
    }

    /// <summary>
    /// The shard's result blob is written. Result blobs are whole, so a completion from an older lease is as good as
    /// the current one: it is accepted (the current holder hears stop at its next renewal) rather than redone.
    /// </summary>
    public CompletionOutcome Complete(ShardLeaseRef lease, ShardProgress outcome)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(outcome);
        if (lease.ShardId < 0 || lease.ShardId >= Frontier || SegmentOf(lease.ShardId) is not { Slots: not null } segment)
        {
            // Never leased, or in a segment whose shards have all finished.
            return CompletionOutcome.Stale;
        }

        ref var slot = ref segment.Slots[lease.ShardId - segment.First];
        if (slot.Status is ShardStatus.Done or ShardStatus.Failed)
        {
            return CompletionOutcome.Stale;
        }

        if (outcome.Labeled < 0 || outcome.Errors < 0 || outcome.Labeled + outcome.Errors != slot.ImageCount)
        {
            return CompletionOutcome.Rejected;
        }

        // Only the lease the shard is held under now: a guessed id, or one from before the shard was handed back or
        // re-leased, completes nothing (that attempt's holder was, or will be, told to stop at its next renewal).
        if (!live.TryGetValue(lease.ShardId, out var current) || current.LeaseId != lease.LeaseId)
        {
            return CompletionOutcome.UnknownLease;
        }

        DropLive(lease.ShardId, current);
        retry.Remove(lease.ShardId);
        lastErrors.Remove(lease.ShardId);
        slot.Status = ShardStatus.Done;
        slot.Labeled = outcome.Labeled;
        slot.Errors = outcome.Errors;
        slot.Silo = lease.Silo is { Length: > 0 } silo ? SiloIndex(silo) : slot.Silo;
        ShardsDone++;
        FinishedLabeled += outcome.Labeled;
        FinishedErrors += outcome.Errors;
        var forReview = Math.Clamp(outcome.ForReview, 0, outcome.Labeled);
        var untagged = Math.Clamp(outcome.TagsSkipped, 0, outcome.Labeled);
        segment.ForReview += forReview;
        segment.TagsSkipped += untagged;
        ForReview += forReview;
        TagsSkipped += untagged;
        if (slot.Silo >= 0)
        {
            var totals = siloTotals.GetValueOrDefault(slot.Silo);
            siloTotals[slot.Silo] = (totals.Labeled + outcome.Labeled, totals.Errors + outcome.Errors);
        }

        segment.Unfinished--;
        segment.Touch();
        return CompletionOutcome.Accepted;
    }

    /// <summary>
    /// The current lease's attempt failed. Throttling, and a storage error while this coordinator also saw storage fail
    /// (<paramref name="duringStorageOutage"/>), do not use an attempt; everything else does.
    /// </summary>
    public FailureOutcome Fail(ShardLeaseRef lease, ShardAttemptFailure failure, bool duringStorageOutage)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(failure);
        if (IsEnded || !TryGetCurrent(lease, out var current))
        {
            return FailureOutcome.Stale;
        }

        var counts = failure.Kind switch
        {
            ShardFailureKind.StorageThrottled => false,
            ShardFailureKind.Storage => !duringStorageOutage,
            _ => true,
        };
        return RecordAttemptFailure(lease.ShardId, current, failure.Reason, counts);
    }

    /// <summary>The worker hands the shard back unfinished (silo draining): not the shard's fault, so no attempt is used.</summary>
    public bool Release(ShardLeaseRef lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        if (IsEnded || !TryGetCurrent(lease, out var current))
        {
            return false;
        }

        DropLive(lease.ShardId, current);
        var segment = SegmentOf(lease.ShardId)!;
        ref var slot = ref segment.Slots![lease.ShardId - segment.First];
        slot.Status = ShardStatus.Pending;
        slot.Attempts--;
        slot.Silo = -1;
        segment.Touch();
        retry.Add(lease.ShardId);
        ShardsRedispatched++;
        return true;
    }

    /// <summary>
    /// Takes back leases whose worker stopped renewing, and at once those of silos that left the cluster. A lease lost
    /// with its silo, or while this coordinator could not reach storage (renewals may have failed on its side), does
    /// not use an attempt.
    /// </summary>
    public IReadOnlyList<LostLease> ExpireLeases(Func<string, bool> siloIsGone, bool duringStorageOutage)
    {
        ArgumentNullException.ThrowIfNull(siloIsGone);
        if (IsEnded || live.Count == 0)
        {
            return [];
        }

        var now = time.GetUtcNow();
        List<LostLease>? lost = null;
        foreach (var (id, lease) in live)
        {
            var gone = siloIsGone(lease.Silo);
            if (gone || lease.ExpiresAt < now)
            {
                (lost ??= []).Add(new LostLease(id, lease.Silo, gone));
            }
        }

        if (lost is null)
        {
            return [];
        }

        foreach (var loss in lost)
        {
            ShardsRedispatched++;
            var reason = loss.SiloGone
                ? $"lease lost: silo {loss.Silo} left the cluster"
                : $"lease expired: silo {loss.Silo} stopped renewing (died or unreachable)";
            var outcome = RecordAttemptFailure(loss.ShardId, live[loss.ShardId], reason, counts: !loss.SiloGone && !duringStorageOutage);
            loss.ShardFailed = outcome == FailureOutcome.ShardFailed;
        }

        return lost;
    }

    /// <summary>The failed shard's error rows are in its result blob.</summary>
    public void MarkErrorRowsWritten(int shardId)
    {
        if (!needErrorRows.Remove(shardId))
        {
            return;
        }

        var segment = SegmentOf(shardId)!;
        segment.Slots![shardId - segment.First].ErrorRowsWritten = true;
        segment.Unfinished--;
        segment.Touch();
    }

    /// <summary>Where the shard's names are; null for a shard in a finished, stored segment.</summary>
    public ShardManifestRef? ManifestOf(int shardId)
    {
        var segment = SegmentOf(shardId);
        if (segment?.Slots is not { } slots || shardId - segment.First >= segment.Count)
        {
            return null;
        }

        var slot = slots[shardId - segment.First];
        return new ShardManifestRef(slot.ManifestGroup, slot.ManifestOffset, slot.ManifestLength);
    }

    /// <summary>The last reason a shard's attempt failed, while it is not done.</summary>
    public string? LastErrorOf(int shardId) => lastErrors.GetValueOrDefault(shardId);

    /// <summary>Ends the job (completed, failed or cancelled): nothing more is leased; live leases hear stop.</summary>
    public void End()
    {
        IsEnded = true;
        PendingFailure = null;
    }

    /// <summary>The reason the job must fail for its errors, or null. A fraction is judged once the dataset's size is known.</summary>
    public string? ThresholdFailure()
    {
        if (settings.MaxErrors is not { } threshold)
        {
            return null;
        }

        var errors = Errors;
        var exceeded = threshold.MaxCount is { } max
            ? errors > max
            : ListingComplete && threshold.IsExceeded(errors, ListedImages);
        return exceeded
            ? $"error threshold exceeded: {errors} of {ListedImages} images could not be labeled (allowed: {threshold})"
            : null;
    }

    /// <summary>Segments changed since they were last stored, lowest first.</summary>
    public IEnumerable<int> DirtySegments()
    {
        foreach (var segment in segments)
        {
            if (segment.Version != segment.StoredVersion)
            {
                yield return segment.Index;
            }
        }
    }

    /// <summary>The segment as it is now, for storing; <see cref="MarkStored"/> with the returned version once written.</summary>
    public (ShardSegmentRecord Record, long Version) Snapshot(int index)
    {
        var segment = segments[index];
        var slots = segment.Slots ?? throw new InvalidOperationException($"segment {index} is finished and stored");
        var record = new ShardSegmentRecord { Index = index, Shards = new List<StoredShard>(segment.Count), ForReview = segment.ForReview, TagsSkipped = segment.TagsSkipped };
        var local = new Dictionary<int, int>();
        for (var i = 0; i < segment.Count; i++)
        {
            var slot = slots[i];
            var id = segment.First + i;
            var siloRef = -1;
            if (slot.Silo >= 0 && !local.TryGetValue(slot.Silo, out siloRef))
            {
                siloRef = local[slot.Silo] = record.Silos.Count;
                record.Silos.Add(silos[slot.Silo]);
            }

            record.Shards.Add(new StoredShard
            {
                Status = slot.Status,
                Attempts = slot.Attempts,
                FreeRetries = slot.FreeRetries,
                LeaseId = slot.Status == ShardStatus.Leased && live.TryGetValue(id, out var lease) ? lease.LeaseId : Guid.Empty,
                Silo = siloRef,
                Labeled = slot.Labeled,
                Errors = slot.Errors,
                ImageCount = slot.ImageCount,
                LastError = slot.Status == ShardStatus.Done ? null : lastErrors.GetValueOrDefault(id),
                ErrorRowsWritten = slot.ErrorRowsWritten,
                ManifestGroup = slot.ManifestGroup,
                ManifestOffset = slot.ManifestOffset,
                ManifestLength = slot.ManifestLength,
            });
        }

        return (record, segment.Version);
    }

    /// <summary>The segment is stored as of <paramref name="version"/>; a finished segment then leaves memory.</summary>
    public void MarkStored(int index, long version)
    {
        var segment = segments[index];
        segment.StoredVersion = Math.Max(segment.StoredVersion, version);
        // A segment that is not full may still grow while listing runs.
        var full = segment.Count == settings.SegmentSize || ListingComplete;
        if (segment.Version == segment.StoredVersion && segment.Unfinished == 0 && full && segment.Slots is not null)
        {
            segment.Slots = null;
        }
    }

    /// <summary>
    /// Rebuilds the ledger from stored segments (a reactivation). Leased shards get a full lease period from now:
    /// their workers may still hold them. Records beyond <paramref name="shardCount"/> (written before the header
    /// that would count them) are ignored; listing cuts them again.
    /// </summary>
    public void Restore(int shardCount, bool listingComplete, int redispatched, IEnumerable<ShardSegmentRecord> stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (ShardCount != 0)
        {
            throw new InvalidOperationException("restore works on an empty ledger");
        }

        var now = time.GetUtcNow();
        var pendingAbove = new List<int>();
        foreach (var record in stored.OrderBy(r => r.Index))
        {
            if (record.Index != segments.Count)
            {
                throw new InvalidDataException($"segment {segments.Count} is missing (found {record.Index})");
            }

            var segment = SegmentOf(record.Index * settings.SegmentSize, create: true)!;
            segment.ForReview = record.ForReview;
            segment.TagsSkipped = record.TagsSkipped;
            ForReview += record.ForReview;
            TagsSkipped += record.TagsSkipped;
            var take = Math.Min(record.Shards.Count, shardCount - segment.First);
            for (var i = 0; i < take; i++)
            {
                var shard = record.Shards[i];
                var id = segment.First + i;
                var siloName = shard.Silo >= 0 && shard.Silo < record.Silos.Count ? record.Silos[shard.Silo] : null;
                var slot = new ShardSlot
                {
                    Status = shard.Status,
                    Attempts = shard.Attempts,
                    FreeRetries = (byte)Math.Clamp(shard.FreeRetries, 0, byte.MaxValue),
                    Silo = siloName is null ? -1 : SiloIndex(siloName),
                    Labeled = shard.Labeled,
                    Errors = shard.Errors,
                    ImageCount = shard.ImageCount,
                    ErrorRowsWritten = shard.ErrorRowsWritten,
                    ManifestGroup = shard.ManifestGroup,
                    ManifestOffset = shard.ManifestOffset,
                    ManifestLength = shard.ManifestLength,
                };
                if (shard.LastError is { } error && shard.Status != ShardStatus.Done)
                {
                    lastErrors[id] = error;
                }

                ListedImages += shard.ImageCount;
                switch (shard.Status)
                {
                    case ShardStatus.Pending:
                        segment.Unfinished++;
                        pendingAbove.Add(id);
                        break;
                    case ShardStatus.Leased when siloName is not null:
                        segment.Unfinished++;
                        live[id] = new LiveLease(shard.LeaseId, siloName, now + settings.LeaseDuration);
                        break;
                    case ShardStatus.Leased:
                        // A lease without a holder cannot be renewed by anyone: redo it.
                        slot.Status = ShardStatus.Pending;
                        segment.Unfinished++;
                        pendingAbove.Add(id);
                        segment.Touch();
                        break;
                    case ShardStatus.Done:
                        ShardsDone++;
                        AddFinished(slot);
                        break;
                    case ShardStatus.Failed:
                        ShardsFailed++;
                        FailedShardImages += slot.ImageCount;
                        AddFinished(slot);
                        NoteFailure(id, slot, lastErrors.GetValueOrDefault(id) ?? "failed");
                        if (!slot.ErrorRowsWritten)
                        {
                            segment.Unfinished++;
                            needErrorRows.Add(id);
                        }

                        break;
                }

                segment.Slots![i] = slot;
                segment.Count++;
                ShardCount++;
            }
        }

        if (ShardCount != shardCount)
        {
            throw new InvalidDataException($"the job has {shardCount} shards but its segments hold {ShardCount}");
        }

        // Never-leased shards are the tail; pending shards below the last leased one go to the retry set.
        Frontier = ShardCount;
        for (var i = pendingAbove.Count - 1; i >= 0 && pendingAbove[i] == Frontier - 1; i--)
        {
            Frontier--;
        }

        foreach (var id in pendingAbove)
        {
            if (id < Frontier)
            {
                retry.Add(id);
            }
        }

        ListingComplete = listingComplete;
        ShardsRedispatched = redispatched;
        for (var i = 0; i < segments.Count; i++)
        {
            MarkStored(i, segments[i].StoredVersion);
        }
    }

    public static string CleanReason(string? reason)
    {
        var line = LineBreaks().Replace(reason ?? "failed", " ").Trim();
        return line.Length <= MaxReasonLength ? line : line[..MaxReasonLength] + "...";
    }

    private FailureOutcome RecordAttemptFailure(int id, LiveLease lease, string reason, bool counts)
    {
        DropLive(id, lease);
        var clean = CleanReason(reason);
        var segment = SegmentOf(id)!;
        ref var slot = ref segment.Slots![id - segment.First];
        lastErrors[id] = clean;
        segment.Touch();
        var free = !counts && slot.FreeRetries < settings.MaxFreeRetries;
        if (free)
        {
            slot.Attempts--;
            slot.FreeRetries++;
        }

        slot.Silo = -1;
        if (slot.Attempts >= settings.MaxAttempts)
        {
            // Spent: the shard's images become error rows (written by the grain), never another loop.
            slot.Status = ShardStatus.Failed;
            slot.Labeled = 0;
            slot.Errors = slot.ImageCount;
            slot.ErrorRowsWritten = false;
            ShardsFailed++;
            FailedShardImages += slot.ImageCount;
            AddFinished(slot);
            needErrorRows.Add(id);
            NoteFailure(id, slot, clean);
            return FailureOutcome.ShardFailed;
        }

        slot.Status = ShardStatus.Pending;
        retry.Add(id);
        return free ? FailureOutcome.RetriedFree : FailureOutcome.Retried;
    }

    private void NoteFailure(int id, ShardSlot slot, string reason)
    {
        if (failures.Count < MaxReportedShardFailures)
        {
            failures.Add(new ShardFailure { ShardId = id, Attempts = slot.Attempts, Images = slot.ImageCount, Reason = reason });
        }
    }

    private void AddFinished(ShardSlot slot)
    {
        FinishedLabeled += slot.Labeled;
        FinishedErrors += slot.Errors;
        if (slot.Silo >= 0 && slot.Status == ShardStatus.Done)
        {
            var totals = siloTotals.GetValueOrDefault(slot.Silo);
            siloTotals[slot.Silo] = (totals.Labeled + slot.Labeled, totals.Errors + slot.Errors);
        }
    }

    private void DropLive(int id, LiveLease lease)
    {
        live.Remove(id);
        liveLabeled -= lease.Progress.Labeled;
        liveErrors -= lease.Progress.Errors;
    }

    private bool TryGetCurrent(ShardLeaseRef lease, out LiveLease current)
    {
        return live.TryGetValue(lease.ShardId, out current!) && current.LeaseId == lease.LeaseId;
    }

    private int ImageCountOf(int shardId)
    {
        var segment = SegmentOf(shardId);
        return segment?.Slots is { } slots ? slots[shardId - segment.First].ImageCount : 0;
    }

    private static bool IsPlausible(ShardProgress progress, int imageCount) =>
        progress.Labeled >= 0 && progress.Errors >= 0 && progress.Labeled + progress.Errors <= imageCount;

    private int SiloIndex(string silo)
    {
        if (!siloIndex.TryGetValue(silo, out var index))
        {
            index = siloIndex[silo] = silos.Count;
            silos.Add(silo);
        }

        return index;
    }

    private Segment? SegmentOf(int shardId, bool create = false)
    {
        var index = shardId / settings.SegmentSize;
        if (index < segments.Count)
        {
            return segments[index];
        }

        if (!create || index != segments.Count)
        {
            return null;
        }

        var segment = new Segment(index, index * settings.SegmentSize, new ShardSlot[settings.SegmentSize]);
        segments.Add(segment);
        return segment;
    }

    [GeneratedRegex(@"[\r\n\t]+", RegexOptions.CultureInvariant)]
    private static partial Regex LineBreaks();

    /// <summary>One shard in memory: 36 bytes. Lease details of running shards live in <see cref="LiveLease"/>.</summary>
    private struct ShardSlot
    {
        public long ManifestOffset;
        public ShardStatus Status;
        public bool ErrorRowsWritten;
        public byte FreeRetries;
        public byte AttemptsByte;
        public int Silo;
        public int ImageCount;
        public int Labeled;
        public int Errors;
        public int ManifestGroup;
        public int ManifestLength;

        public int Attempts
        {
            readonly get => AttemptsByte;
            set => AttemptsByte = (byte)Math.Clamp(value, 0, byte.MaxValue);
        }
    }

    private sealed class Segment(int index, int first, ShardSlot[] slots)
    {
        public int Index { get; } = index;

        public int First { get; } = first;

        /// <summary>Null once every shard in it finished and it is stored.</summary>
        public ShardSlot[]? Slots { get; set; } = slots;

        public int Count { get; set; }

        /// <summary>Shards pending, leased, or failed without their error rows.</summary>
        public int Unfinished { get; set; }

        public long Version { get; private set; }

        public long StoredVersion { get; set; }

        /// <summary>Review and untagged counts of its done shards (each shard completes once, so a sum per segment is exact).</summary>
        public int ForReview { get; set; }

        public int TagsSkipped { get; set; }

        public void Touch() => Version++;
    }

    private sealed class LiveLease(Guid leaseId, string silo, DateTimeOffset expiresAt)
    {
        public Guid LeaseId { get; } = leaseId;

        public string Silo { get; } = silo;

        public DateTimeOffset ExpiresAt { get; set; } = expiresAt;

        public ShardProgress Progress { get; set; } = new();
    }
}

/// <summary>What the ledger needs from the job: its attempt rules, threshold and timings.</summary>
public sealed record ShardLedgerSettings
{
    public required int MaxAttempts { get; init; }

    public ErrorThreshold? MaxErrors { get; init; }

    public required TimeSpan LeaseDuration { get; init; }

    public required int SegmentSize { get; init; }

    /// <summary>
    /// Attempts lost to causes that are not the shard's fault (throttling, a dead silo, an outage) that are not
    /// counted; past this many they count, so a shard that brings its silo down cannot loop forever.
    /// </summary>
    public int MaxFreeRetries { get; init; } = 20;
}

/// <summary>A shard handed out by <see cref="ShardLedger.Lease"/>.</summary>
public sealed record ShardGrant(int ShardId, Guid LeaseId, int Attempt, int ImageCount, ShardManifestRef Manifest);

/// <summary>Where a shard's names are: bytes of the manifest blob of the group that starts at shard <paramref name="Group"/> (length 0: all of it).</summary>
public readonly record struct ShardManifestRef(int Group, long Offset, int Length);

/// <summary>A lease taken back by <see cref="ShardLedger.ExpireLeases"/>.</summary>
public sealed record LostLease(int ShardId, string Silo, bool SiloGone)
{
    /// <summary>The loss spent the shard's last attempt.</summary>
    public bool ShardFailed { get; set; }
}

public enum CompletionOutcome
{
    Accepted,

    /// <summary>The shard is already finished, or was never leased.</summary>
    Stale,

    /// <summary>The counts do not add up to the shard's images.</summary>
    Rejected,

    /// <summary>The lease id is not the one the shard is held under (guessed, expired, or superseded).</summary>
    UnknownLease,
}

public enum FailureOutcome
{
    /// <summary>Not the current lease, or the job ended.</summary>
    Stale,

    /// <summary>The attempt counted; the shard will be redone.</summary>
    Retried,

    /// <summary>Not the shard's fault: redone without using an attempt.</summary>
    RetriedFree,

    /// <summary>The last attempt is spent: the shard's images become error rows.</summary>
    ShardFailed,
}
