using MobileNet.Orleans.Contracts.Security;
using Orleans.Concurrency;

namespace MobileNet.Orleans.Contracts.Cluster;

/// <summary>
/// The silos' latest reports (single instance, key 0; memory only: every silo reports again within seconds, so a
/// moved or restarted instance is complete again almost at once). Reports older than a few intervals are dropped.
/// </summary>
[Alias("mobilenet.cluster-stats")]
public interface IClusterStatsGrain : IGrainWithIntegerKey
{
    [Alias("report"), RequiresRole(CallerRole.Silo), AlwaysInterleave]
    Task ReportAsync(SiloReport report);

    [Alias("silos"), RequiresRole(CallerRole.Reader), AlwaysInterleave]
    Task<IReadOnlyList<SiloReport>> GetSilosAsync();
}
