using MobileNet.Orleans.Contracts.Cluster;
using Orleans.Concurrency;

namespace MobileNet.Orleans.Grains.Cluster;

/// <summary>Keeps each silo's latest report in memory; a silo silent for <see cref="StaleAfter"/> is left out.</summary>
[Reentrant]
public sealed class ClusterStatsGrain(TimeProvider time) : Grain, IClusterStatsGrain
{
    public static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(30);
    private const int MaxSilos = 4096;

    private readonly Dictionary<string, SiloReport> reports = new(StringComparer.Ordinal);

    public Task ReportAsync(SiloReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentException.ThrowIfNullOrEmpty(report.Silo);
        if (reports.ContainsKey(report.Silo) || reports.Count < MaxSilos)
        {
            // Stamped on arrival: silos' clocks may disagree.
            reports[report.Silo] = report with { ReportedAt = time.GetUtcNow() };
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<SiloReport>> GetSilosAsync()
    {
        var now = time.GetUtcNow();
        foreach (var stale in reports.Values.Where(r => now - r.ReportedAt > StaleAfter).Select(r => r.Silo).ToArray())
        {
            reports.Remove(stale);
        }

        return Task.FromResult<IReadOnlyList<SiloReport>>([.. reports.Values.OrderBy(r => r.Silo, StringComparer.Ordinal)]);
    }
}
