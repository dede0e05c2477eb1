namespace MobileNet.Orleans.Grains.Jobs;

/// <summary>
/// Which lease ids a shard has had. A completion is accepted from the current lease or an older one (result blobs
/// are whole, so an older lease's work is as good), but never from a lease id the coordinator did not hand out: a
/// caller guessing or inventing ids cannot mark a shard done.
/// </summary>
public static class ShardLeaseHistory
{
    /// <summary>Enough for every attempt plus several drain hand-backs; older ones are forgotten (that work is redone).</summary>
    public const int Kept = 16;

    public static void Remember(ShardRecord shard, Guid leaseId)
    {
        ArgumentNullException.ThrowIfNull(shard);
        shard.IssuedLeases.Add(leaseId);
        if (shard.IssuedLeases.Count > Kept)
        {
            shard.IssuedLeases.RemoveRange(0, shard.IssuedLeases.Count - Kept);
        }
    }

    public static void Forget(ShardRecord shard, Guid leaseId)
    {
        ArgumentNullException.ThrowIfNull(shard);
        shard.IssuedLeases.Remove(leaseId);
    }

    public static bool WasIssued(ShardRecord shard, Guid leaseId)
    {
        ArgumentNullException.ThrowIfNull(shard);
        return leaseId != Guid.Empty && (leaseId == shard.LeaseId || shard.IssuedLeases.Contains(leaseId));
    }
}
