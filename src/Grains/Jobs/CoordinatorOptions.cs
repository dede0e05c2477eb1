using System.ComponentModel.DataAnnotations;

namespace MobileNet.Orleans.Grains.Jobs;

/// <summary>Timings of job coordinators (section <c>Coordinator</c>).</summary>
public sealed class CoordinatorOptions
{
    public const string SectionName = "Coordinator";

    /// <summary>A worker that does not renew within this time loses the shard to another silo.</summary>
    [Range(typeof(TimeSpan), "00:00:02", "00:30:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>How often leases are checked, state is flushed and completion is evaluated.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan HousekeepingInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Listing runs in turns of about this long, so status and lease calls are served in between.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:10")]
    public TimeSpan ListingTurnBudget { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Progress (completions, failures) is written at most this often; leases and terminal states at once.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan PersistInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Period of the reminder that reactivates an active job after a whole-cluster restart.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ReminderPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Shards per stored segment: a lease or completion rewrites one segment, so writes cost this, not the job.</summary>
    [Range(16, 100_000)]
    public int SegmentSize { get; set; } = 128;

    /// <summary>Shards whose names listing writes into one manifest blob (each shard is a byte range of it).</summary>
    [Range(1, 1000)]
    public int ShardsPerManifestBlob { get; set; } = 128;

    /// <summary>Most shards one lease call gets (a worker asks for its free slots; this bounds a hostile caller).</summary>
    [Range(1, 10_000)]
    public int MaxLeasesPerCall { get; set; } = 256;

    /// <summary>Container of the coordinators' state blobs (one header and one blob per segment per job).</summary>
    [Required, MinLength(3)]
    public string StateContainer { get; set; } = "mobilenet-job-state";

    /// <summary>
    /// Attempts lost to causes that are not the shard's fault (throttled storage, a dead silo, an outage) that are
    /// retried without using an attempt; past this many per shard they count.
    /// </summary>
    [Range(0, 200)]
    public int MaxFreeRetries { get; set; } = 20;

    /// <summary>Window over which images per second is measured.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan RateWindow { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Shards one job may have: the job's state grows with them (a few dozen bytes each), so a source too large
    /// for its shard size fails the job with a reason instead of growing it without bound.</summary>
    [Range(1, 1_000_000)]
    public int MaxShards { get; set; } = 100_000;
}
