using Microsoft.Extensions.Time.Testing;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Grains.Jobs.Ledger;
using MobileNet.Orleans.Grains.Jobs.State;

namespace MobileNet.Orleans.Grains.Tests.Ledger;

/// <summary>The shard-state rules alone: no cluster, no storage, time from a <see cref="FakeTimeProvider"/>.</summary>
public sealed class ShardLedgerTests
{
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(20);

    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));

    private static readonly ShardAttemptFailure Crash = new() { Kind = ShardFailureKind.Processing, Reason = "InvalidOperationException: boom" };

    [Fact]
    public void Lease_NewShards_HandedOutInListingOrderAsFirstAttempts()
    {
        var ledger = NewLedger(shards: 5);

        var grants = ledger.Lease("silo-a", 3);

        Assert.Equal([0, 1, 2], grants.Select(g => g.ShardId));
        Assert.All(grants, g => Assert.Equal(1, g.Attempt));
        Assert.All(grants, g => Assert.Equal(10, g.ImageCount));
        Assert.Equal(3, grants.Select(g => g.LeaseId).Distinct().Count());
        Assert.Equal(3, ledger.ShardsLeased);
        Assert.Equal(2, ledger.ShardsPending);
        Assert.Equal(3, ledger.Frontier);
    }

    [Fact]
    public void Lease_NothingPendingOrZeroAsked_GrantsNothing()
    {
        var ledger = NewLedger(shards: 1);

        Assert.Empty(ledger.Lease("silo-a", 0));
        Assert.Single(ledger.Lease("silo-a", 5));
        Assert.Empty(ledger.Lease("silo-a", 5));
    }

    [Fact]
    public void Lease_RetriedShard_GoesOutBeforeNewerOnes()
    {
        var ledger = NewLedger(shards: 4);
        var first = ledger.Lease("silo-a", 2);
        ledger.Fail(Ref(first[1], "silo-a"), Crash, duringStorageOutage: false);

        var next = ledger.Lease("silo-b", 2);

        Assert.Equal([1, 2], next.Select(g => g.ShardId));
        Assert.Equal(2, next[0].Attempt);
    }

    [Fact]
    public void Rollback_LeaseNotStored_ShardPendingAgainWithoutUsingAnAttempt()
    {
        var ledger = NewLedger(shards: 2);
        var grants = ledger.Lease("silo-a", 2);

        ledger.Rollback(grants);

        Assert.Equal(0, ledger.ShardsLeased);
        Assert.Equal(2, ledger.ShardsPending);
        Assert.Equal(LeaseVerdict.Stop, ledger.Renew(Ref(grants[0], "silo-a"), new ShardProgress()));
        Assert.All(ledger.Lease("silo-a", 2), g => Assert.Equal(1, g.Attempt));
    }

    [Fact]
    public void Renew_CurrentLease_ExtendsItPastTheOriginalExpiry()
    {
        var ledger = NewLedger(shards: 1);
        var grant = ledger.Lease("silo-a", 1)[0];

        for (var i = 0; i < 5; i++)
        {
            time.Advance(LeaseDuration / 2);
            Assert.Equal(LeaseVerdict.Continue, ledger.Renew(Ref(grant, "silo-a"), new ShardProgress { Processed = i, Labeled = i }));
            Assert.Empty(ledger.ExpireLeases(_ => false, duringStorageOutage: false));
        }

        Assert.Equal(1, ledger.ShardsLeased);
        Assert.Equal(4, ledger.Labeled);
    }

    [Fact]
    public void Renew_UnknownOrOlderLease_Stop()
    {
        var ledger = NewLedger(shards: 1);
        var grant = ledger.Lease("silo-a", 1)[0];

        Assert.Equal(LeaseVerdict.Stop, ledger.Renew(Ref(grant, "silo-a") with { LeaseId = Guid.NewGuid() }, new ShardProgress()));
        Assert.Equal(LeaseVerdict.Stop, ledger.Renew(Ref(grant, "silo-a") with { ShardId = 7 }, new ShardProgress()));
    }

    [Fact]
    public void Renew_ImplausibleProgress_LeaseKeptButCountsIgnored()
    {
        var ledger = NewLedger(shards: 1);
        var grant = ledger.Lease("silo-a", 1)[0];

        Assert.Equal(LeaseVerdict.Continue, ledger.Renew(Ref(grant, "silo-a"), new ShardProgress { Labeled = 1_000_000 }));

        Assert.Equal(0, ledger.Labeled);
    }

    [Fact]
    public void Complete_CurrentLease_DoneWithCountsAndSiloShare()
    {
        var ledger = NewLedger(shards: 2);
        var grant = ledger.Lease("silo-a", 1)[0];
        ledger.Renew(Ref(grant, "silo-a"), new ShardProgress { Processed = 4, Labeled = 4 });

        Assert.Equal(CompletionOutcome.Accepted, ledger.Complete(Ref(grant, "silo-a"), Outcome(labeled: 8, errors: 2)));

        Assert.Equal(1, ledger.ShardsDone);
        Assert.Equal(0, ledger.ShardsLeased);
        Assert.Equal(8, ledger.Labeled);
        Assert.Equal(2, ledger.Errors);
        var share = Assert.Single(ledger.SiloShares());
        Assert.Equal(("silo-a", 8L, 2L), (share.Silo, share.Labeled, share.Errors));
    }

    [Fact]
    public void Complete_OlderLeaseAfterRedispatch_UnknownLeaseAndCurrentHolderCompletes()
    {
        var ledger = NewLedger(shards: 1);
        var old = ledger.Lease("silo-a", 1)[0];
        time.Advance(LeaseDuration + TimeSpan.FromSeconds(1));
        ledger.ExpireLeases(_ => false, duringStorageOutage: false);
        var current = ledger.Lease("silo-b", 1)[0];

        Assert.Equal(CompletionOutcome.UnknownLease, ledger.Complete(Ref(old, "silo-a"), Outcome(labeled: 10, errors: 0)));

        Assert.Equal(0, ledger.ShardsDone);
        Assert.Equal(LeaseVerdict.Continue, ledger.Renew(Ref(current, "silo-b"), new ShardProgress()));
        Assert.Equal(CompletionOutcome.Accepted, ledger.Complete(Ref(current, "silo-b"), Outcome(labeled: 10, errors: 0)));
        Assert.Equal(10, ledger.Labeled);
    }

    [Fact]
    public void Complete_GuessedLeaseId_UnknownLeaseAndShardStillLeased()
    {
        var ledger = NewLedger(shards: 1);
        var grant = ledger.Lease("silo-a", 1)[0];
        var forged = Ref(grant, "silo-a") with { LeaseId = Guid.NewGuid() };

        Assert.Equal(CompletionOutcome.UnknownLease, ledger.Complete(forged, Outcome(labeled: 10, errors: 0)));

        Assert.Equal((0, 1), (ledger.ShardsDone, ledger.ShardsLeased));
    }

    [Fact]
    public void Complete_PendingAfterFailure_UnknownLeaseAndLeasedAgain()
    {
        var ledger = NewLedger(shards: 1);
        var grant = ledger.Lease("silo-a", 1)[0];
        ledger.Fail(Ref(grant, "silo-a"), Crash, duringStorageOutage: false);

        Assert.Equal(CompletionOutcome.UnknownLease, ledger.Complete(Ref(grant, "silo-a"), Outcome(labeled: 10, errors: 0)));

        Assert.Single(ledger.Lease("silo-b", 1));
    }

    [Fact]
    public void Complete_Twice_SecondIsStaleAndCountsOnce()
    {
        var ledger = NewLedger(shards: 1);
        var grant = ledger.Lease("silo-a", 1)[0];
        ledger.Complete(Ref(grant, "silo-a"), Outcome(labeled: 10, errors: 0));

        Assert.Equal(CompletionOutcome.Stale, ledger.Complete(Ref(grant, "silo-a"), Outcome(labeled: 10, errors: 0)));

        Assert.Equal(10, ledger.Labeled);
    }

    [Fact]
    public void Complete_NeverLeasedShard_Stale()
    {
        var ledger = NewLedger(shards: 3);

        Assert.Equal(CompletionOutcome.Stale, ledger.Complete(new ShardLeaseRef { JobId = "j", ShardId = 2, LeaseId = Guid.NewGuid() }, Outcome(10, 0)));
        Assert.Equal(CompletionOutcome.Stale, ledger.Complete(new ShardLeaseRef { JobId = "j", ShardId = -1, LeaseId = Guid.NewGuid() }, Outcome(10, 0)));
    }

    [Theory]
    [InlineData(9, 0)]
    [InlineData(10, 1)]
    [InlineData(-1, 11)]
    public void Complete_CountsNotTheShardsImages_RejectedAndShardStillRunning(int labeled, int errors)
    {
        var ledger = NewLedger(shards: 1);
        var grant = ledger.Lease("silo-a", 1)[0];

        Assert.Equal(CompletionOutcome.Rejected, ledger.Complete(Ref(grant, "silo-a"), Outcome(labeled, errors)));

        Assert.Equal(0, ledger.ShardsDone);
        Assert.Equal(1, ledger.ShardsLeased);
    }

    [Fact]
    public void Fail_ProcessingError_UsesAttemptsThenShardFailsWithErrorRows()
    {
        var ledger = NewLedger(shards: 1, maxAttempts: 3);
        ledger.CompleteListing();
        var outcomes = new List<FailureOutcome>();
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var grant = Assert.Single(ledger.Lease("silo-a", 1));
            Assert.Equal(attempt, grant.Attempt);
            outcomes.Add(ledger.Fail(Ref(grant, "silo-a"), Crash, duringStorageOutage: false));
        }

        Assert.Equal([FailureOutcome.Retried, FailureOutcome.Retried, FailureOutcome.ShardFailed], outcomes);
        Assert.Empty(ledger.Lease("silo-a", 1));
        Assert.Equal(1, ledger.ShardsFailed);
        Assert.Equal(10, ledger.Errors);
        var failure = Assert.Single(ledger.FailedShards);
        Assert.Equal((0, 3, 10, Crash.Reason), (failure.ShardId, failure.Attempts, failure.Images, failure.Reason));
        Assert.Equal([0], ledger.ShardsNeedingErrorRows);
        Assert.False(ledger.AllShardsFinished);

        ledger.MarkErrorRowsWritten(0);

        Assert.Empty(ledger.ShardsNeedingErrorRows);
        Assert.True(ledger.AllShardsFinished);
    }

    [Fact]
    public void Fail_StorageThrottled_RetriedWithoutUsingAnAttempt()
    {
        var ledger = NewLedger(shards: 1, maxAttempts: 1);
        var throttled = new ShardAttemptFailure { Kind = ShardFailureKind.StorageThrottled, Reason = "storage error 503 ServerBusy", StorageStatus = 503 };
        for (var i = 0; i < 5; i++)
        {
            var grant = Assert.Single(ledger.Lease("silo-a", 1));
            Assert.Equal(1, grant.Attempt);
            Assert.Equal(FailureOutcome.RetriedFree, ledger.Fail(Ref(grant, "silo-a"), throttled, duringStorageOutage: false));
        }

        Assert.Equal(0, ledger.ShardsFailed);
        Assert.Equal(1, ledger.ShardsPending);
    }

    [Fact]
    public void Fail_StorageErrorWhileCoordinatorSawAnOutage_NoAttemptOtherwiseOne()
    {
        var ledger = NewLedger(shards: 1, maxAttempts: 2);
        var storageError = new ShardAttemptFailure { Kind = ShardFailureKind.Storage, Reason = "storage error 500 InternalError", StorageStatus = 500 };

        Assert.Equal(FailureOutcome.RetriedFree, ledger.Fail(Ref(ledger.Lease("silo-a", 1)[0], "silo-a"), storageError, duringStorageOutage: true));
        Assert.Equal(FailureOutcome.Retried, ledger.Fail(Ref(ledger.Lease("silo-a", 1)[0], "silo-a"), storageError, duringStorageOutage: false));
        Assert.Equal(FailureOutcome.ShardFailed, ledger.Fail(Ref(ledger.Lease("silo-a", 1)[0], "silo-a"), storageError, duringStorageOutage: false));
    }

    [Fact]
    public void Fail_FreeRetriesSpent_FurtherLossesCount()
    {
        var ledger = NewLedger(shards: 1, maxAttempts: 2, maxFreeRetries: 2);
        var throttled = new ShardAttemptFailure { Kind = ShardFailureKind.StorageThrottled, Reason = "429" };
        var outcomes = new List<FailureOutcome>();
        for (var i = 0; i < 4; i++)
        {
            outcomes.Add(ledger.Fail(Ref(ledger.Lease("silo-a", 1)[0], "silo-a"), throttled, duringStorageOutage: false));
        }

        Assert.Equal([FailureOutcome.RetriedFree, FailureOutcome.RetriedFree, FailureOutcome.Retried, FailureOutcome.ShardFailed], outcomes);
    }

    [Fact]
    public void Fail_StaleLease_Ignored()
    {
        var ledger = NewLedger(shards: 1, maxAttempts: 1);
        var grant = ledger.Lease("silo-a", 1)[0];

        Assert.Equal(FailureOutcome.Stale, ledger.Fail(Ref(grant, "silo-a") with { LeaseId = Guid.NewGuid() }, Crash, duringStorageOutage: false));

        Assert.Equal(1, ledger.ShardsLeased);
        Assert.Equal(0, ledger.ShardsFailed);
    }

    [Fact]
    public void Release_DrainingSilo_PendingAgainWithoutAttemptAndCountedAsRedispatch()
    {
        var ledger = NewLedger(shards: 1, maxAttempts: 1);
        var grant = ledger.Lease("silo-a", 1)[0];

        Assert.True(ledger.Release(Ref(grant, "silo-a")));
        Assert.False(ledger.Release(Ref(grant, "silo-a")));

        Assert.Equal(1, ledger.ShardsRedispatched);
        Assert.Equal(1, Assert.Single(ledger.Lease("silo-b", 1)).Attempt);
    }

    [Fact]
    public void ExpireLeases_WorkerStoppedRenewing_TakenBackAfterLeaseDurationUsingAnAttempt()
    {
        var ledger = NewLedger(shards: 1, maxAttempts: 2);
        var grant = ledger.Lease("silo-a", 1)[0];

        time.Advance(LeaseDuration);
        Assert.Empty(ledger.ExpireLeases(_ => false, duringStorageOutage: false));
        time.Advance(TimeSpan.FromMilliseconds(1));
        var lost = Assert.Single(ledger.ExpireLeases(_ => false, duringStorageOutage: false));

        Assert.Equal((0, "silo-a", false, false), (lost.ShardId, lost.Silo, lost.SiloGone, lost.ShardFailed));
        Assert.Equal(LeaseVerdict.Stop, ledger.Renew(Ref(grant, "silo-a"), new ShardProgress()));
        Assert.Equal(2, Assert.Single(ledger.Lease("silo-b", 1)).Attempt);
        Assert.Equal(1, ledger.ShardsRedispatched);
        Assert.StartsWith("lease expired", ledger.LastErrorOf(0), StringComparison.Ordinal);
    }

    [Fact]
    public void ExpireLeases_LastAttemptExpires_ShardFails()
    {
        var ledger = NewLedger(shards: 1, maxAttempts: 1);
        ledger.Lease("silo-a", 1);
        time.Advance(LeaseDuration * 2);

        Assert.True(Assert.Single(ledger.ExpireLeases(_ => false, duringStorageOutage: false)).ShardFailed);

        Assert.Equal(1, ledger.ShardsFailed);
    }

    [Fact]
    public void ExpireLeases_SiloDied_TakenBackAtOnceWithoutUsingAnAttempt()
    {
        var ledger = NewLedger(shards: 2, maxAttempts: 1);
        ledger.Lease("silo-dead", 1);
        ledger.Lease("silo-alive", 1);

        var lost = Assert.Single(ledger.ExpireLeases(silo => silo == "silo-dead", duringStorageOutage: false));

        Assert.Equal((0, true, false), (lost.ShardId, lost.SiloGone, lost.ShardFailed));
        Assert.Equal(1, ledger.ShardsLeased);
        Assert.Equal(1, Assert.Single(ledger.Lease("silo-alive", 1)).Attempt);
        Assert.Equal(0, ledger.ShardsFailed);
    }

    [Fact]
    public void ExpireLeases_DuringStorageOutage_NoAttemptUsed()
    {
        var ledger = NewLedger(shards: 1, maxAttempts: 1);
        ledger.Lease("silo-a", 1);
        time.Advance(LeaseDuration * 2);

        Assert.False(Assert.Single(ledger.ExpireLeases(_ => false, duringStorageOutage: true)).ShardFailed);

        Assert.Equal(1, Assert.Single(ledger.Lease("silo-a", 1)).Attempt);
    }

    [Fact]
    public void Renew_ErrorCountThresholdExceededByRunningShards_StopAndPendingFailure()
    {
        var ledger = NewLedger(shards: 2, maxErrors: new ErrorThreshold { MaxCount = 5 });
        var grants = ledger.Lease("silo-a", 2);

        Assert.Equal(LeaseVerdict.Continue, ledger.Renew(Ref(grants[0], "silo-a"), new ShardProgress { Processed = 3, Errors = 3 }));
        Assert.Null(ledger.ThresholdFailure());
        Assert.Equal(LeaseVerdict.Stop, ledger.Renew(Ref(grants[1], "silo-a"), new ShardProgress { Processed = 3, Errors = 3 }));

        Assert.StartsWith("error threshold exceeded: 6 of 20", ledger.PendingFailure, StringComparison.Ordinal);
        Assert.Equal(LeaseVerdict.Stop, ledger.Renew(Ref(grants[0], "silo-a"), new ShardProgress { Processed = 3, Errors = 3 }));
        Assert.Empty(ledger.Lease("silo-a", 1));
    }

    [Fact]
    public void ThresholdFailure_FractionJudgedOnlyOnceListingIsComplete()
    {
        var ledger = NewLedger(shards: 2, maxErrors: new ErrorThreshold { MaxFraction = 0.25 });
        var grant = ledger.Lease("silo-a", 1)[0];
        ledger.Complete(Ref(grant, "silo-a"), Outcome(labeled: 4, errors: 6));

        Assert.Null(ledger.ThresholdFailure());
        ledger.CompleteListing();

        Assert.Equal("error threshold exceeded: 6 of 20 images could not be labeled (allowed: 25%)", ledger.ThresholdFailure());
    }

    [Fact]
    public void ThresholdFailure_FailedShardErrorsCount()
    {
        var ledger = NewLedger(shards: 2, maxAttempts: 1, maxErrors: new ErrorThreshold { MaxCount = 9 });

        ledger.Fail(Ref(ledger.Lease("silo-a", 1)[0], "silo-a"), Crash, duringStorageOutage: false);

        Assert.NotNull(ledger.ThresholdFailure());
    }

    [Fact]
    public void End_Cancelled_NothingLeasedRenewalsStopRunningProgressNotCounted()
    {
        var ledger = NewLedger(shards: 3);
        var grant = ledger.Lease("silo-a", 1)[0];
        ledger.Renew(Ref(grant, "silo-a"), new ShardProgress { Processed = 5, Labeled = 5 });

        ledger.End();

        Assert.True(ledger.IsEnded);
        Assert.Empty(ledger.Lease("silo-a", 1));
        Assert.Equal(LeaseVerdict.Stop, ledger.Renew(Ref(grant, "silo-a"), new ShardProgress()));
        Assert.Equal(FailureOutcome.Stale, ledger.Fail(Ref(grant, "silo-a"), Crash, duringStorageOutage: false));
        Assert.False(ledger.Release(Ref(grant, "silo-a")));
        Assert.Empty(ledger.ExpireLeases(_ => true, duringStorageOutage: false));
        Assert.Equal(0, ledger.Labeled);
        Assert.Empty(ledger.SiloShares());
        // A result written before the end is still kept.
        Assert.Equal(CompletionOutcome.Accepted, ledger.Complete(Ref(grant, "silo-a"), Outcome(10, 0)));
        Assert.Equal(10, ledger.Labeled);
    }

    [Fact]
    public void AllShardsFinished_OnlyOnceListingIsCompleteAndEveryShardDone()
    {
        var ledger = NewLedger(shards: 2);
        foreach (var grant in ledger.Lease("silo-a", 2))
        {
            Assert.False(ledger.AllShardsFinished);
            ledger.Complete(Ref(grant, "silo-a"), Outcome(10, 0));
        }

        Assert.False(ledger.AllShardsFinished);
        ledger.CompleteListing();
        Assert.True(ledger.AllShardsFinished);
        Assert.Throws<InvalidOperationException>(() => ledger.AddShard(5));
    }

    [Fact]
    public void DirtySegments_LeaseInOneSegment_OnlyThatSegmentIsWritten()
    {
        var ledger = NewLedger(shards: 25, segmentSize: 10);
        StoreAll(ledger);

        var grant = ledger.Lease("silo-a", 1)[0];
        Assert.Equal([0], ledger.DirtySegments());
        StoreAll(ledger);
        ledger.Complete(Ref(grant, "silo-a"), Outcome(10, 0));

        Assert.Equal([0], ledger.DirtySegments());
        var (record, _) = ledger.Snapshot(0);
        Assert.Equal(10, record.Shards.Count);
        Assert.Equal(ShardStatus.Done, record.Shards[0].Status);
        Assert.Equal("silo-a", record.Silos[record.Shards[0].Silo]);
    }

    [Fact]
    public void MarkStored_ChangedDuringWrite_StaysDirty()
    {
        var ledger = NewLedger(shards: 3, segmentSize: 10);
        var (_, version) = ledger.Snapshot(0);
        ledger.Lease("silo-a", 1);

        ledger.MarkStored(0, version);

        Assert.Equal([0], ledger.DirtySegments());
    }

    [Fact]
    public void MarkStored_SegmentFinished_LeavesMemoryAndLateReportsAreStale()
    {
        var ledger = NewLedger(shards: 20, segmentSize: 10);
        var grants = ledger.Lease("silo-a", 10);
        foreach (var grant in grants)
        {
            ledger.Complete(Ref(grant, "silo-a"), Outcome(10, 0));
        }

        StoreAll(ledger);

        Assert.Equal(1, ledger.ResidentSegments);
        Assert.Equal(CompletionOutcome.Stale, ledger.Complete(Ref(grants[0], "silo-a"), Outcome(10, 0)));
        Assert.Equal(10, ledger.ShardsDone);
        Assert.Equal(100, ledger.Labeled);
        Assert.Equal(10, Assert.Single(ledger.Lease("silo-a", 1)).ShardId);
    }

    [Fact]
    public void Restore_FromStoredSegments_SameCountsLeasesStillRecognisedAndRenewable()
    {
        var ledger = NewLedger(shards: 25, segmentSize: 10, maxAttempts: 2);
        var grants = ledger.Lease("silo-a", 12);
        ledger.Complete(Ref(grants[0], "silo-a"), Outcome(7, 3));
        ledger.Fail(Ref(grants[1], "silo-a"), Crash, duringStorageOutage: false);
        ledger.Fail(Ref(ledger.Lease("silo-a", 1)[0], "silo-a"), Crash, duringStorageOutage: false);
        ledger.Release(Ref(grants[2], "silo-a"));
        var stored = Enumerable.Range(0, ledger.SegmentCount).Select(i => ledger.Snapshot(i).Record).ToArray();

        var restored = NewLedger(shards: 0, segmentSize: 10, maxAttempts: 2);
        time.Advance(LeaseDuration / 2);
        restored.Restore(25, listingComplete: true, redispatched: ledger.ShardsRedispatched, stored);

        Assert.Equal((25, 250L, 1, 1, 9), (restored.ShardCount, restored.ListedImages, restored.ShardsDone, restored.ShardsFailed, restored.ShardsLeased));
        Assert.Equal(ledger.ShardsPending, restored.ShardsPending);
        Assert.Equal((7L, 13L), (restored.Labeled, restored.Errors));
        Assert.Equal([1], restored.ShardsNeedingErrorRows);
        Assert.Equal(Crash.Reason, Assert.Single(restored.FailedShards).Reason);
        Assert.Equal(1, restored.ShardsRedispatched);
        Assert.Equal(12, restored.Frontier);
        // A live lease gets a full period from the reactivation, and its holder is still recognised.
        time.Advance(LeaseDuration * 0.9);
        Assert.Empty(restored.ExpireLeases(_ => false, duringStorageOutage: false));
        Assert.Equal(LeaseVerdict.Continue, restored.Renew(Ref(grants[3], "silo-a"), new ShardProgress()));
        // The handed-back shard goes out first, still on its first attempt.
        Assert.Equal((2, 1), (restored.Lease("silo-b", 1)[0] is var g ? (g.ShardId, g.Attempt) : default));
    }

    [Fact]
    public void Lease_ShardInAGroupManifest_GrantCarriesItsRangeThroughRestore()
    {
        var ledger = NewLedger(shards: 0);
        ledger.AddShard(10, new ShardManifestRef(0, 0, 120));
        ledger.AddShard(10, new ShardManifestRef(0, 120, 130));
        var stored = ledger.Snapshot(0).Record;

        var restored = NewLedger(shards: 0);
        restored.Restore(2, listingComplete: true, redispatched: 0, [stored]);

        Assert.Equal(new ShardManifestRef(0, 120, 130), restored.Lease("silo-a", 2)[1].Manifest);
        Assert.Equal(new ShardManifestRef(0, 0, 120), restored.ManifestOf(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => NewLedger(shards: 0).AddShard(5, new ShardManifestRef(3, 0, 10)));
    }

    [Fact]
    public void Restore_RecordsBeyondTheHeadersCount_Ignored()
    {
        var ledger = NewLedger(shards: 8, segmentSize: 10);
        var stored = new[] { ledger.Snapshot(0).Record };

        var restored = NewLedger(shards: 0, segmentSize: 10);
        restored.Restore(5, listingComplete: false, redispatched: 0, stored);

        Assert.Equal((5, 50L, 5), (restored.ShardCount, restored.ListedImages, restored.ShardsPending));
        Assert.Equal(5, restored.AddShard(10));
    }

    [Fact]
    public void Restore_SegmentMissing_Throws()
    {
        var ledger = NewLedger(shards: 25, segmentSize: 10);
        var stored = new[] { ledger.Snapshot(0).Record, ledger.Snapshot(2).Record };

        Assert.Throws<InvalidDataException>(() => NewLedger(shards: 0, segmentSize: 10).Restore(25, false, 0, stored));
    }

    private ShardLedger NewLedger(int shards, int maxAttempts = 3, ErrorThreshold? maxErrors = null, int segmentSize = 1000, int maxFreeRetries = 20)
    {
        var ledger = new ShardLedger(
            new ShardLedgerSettings { MaxAttempts = maxAttempts, MaxErrors = maxErrors, LeaseDuration = LeaseDuration, SegmentSize = segmentSize, MaxFreeRetries = maxFreeRetries },
            time);
        for (var i = 0; i < shards; i++)
        {
            ledger.AddShard(10);
        }

        return ledger;
    }

    private static void StoreAll(ShardLedger ledger)
    {
        foreach (var index in ledger.DirtySegments().ToArray())
        {
            ledger.MarkStored(index, ledger.Snapshot(index).Version);
        }
    }

    private static ShardLeaseRef Ref(ShardGrant grant, string silo) =>
        new() { JobId = "job-1", ShardId = grant.ShardId, LeaseId = grant.LeaseId, Silo = silo };

    private static ShardProgress Outcome(int labeled, int errors) =>
        new() { Processed = labeled + errors, Labeled = labeled, Errors = errors };
}
