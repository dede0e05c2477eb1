namespace MobileNet.Orleans.Contracts.Jobs;

/// <summary>
/// What one silo spent on one job since it started working on it: process CPU time attributed to the job's images
/// (a silo splits each second's CPU time over the jobs whose images it processed in that second, by image count) and
/// the images it covers. Totals, not deltas, so a coordinator that moved learns them again at the next report.
/// </summary>
[GenerateSerializer, Immutable, Alias("mobilenet.silo-job-usage")]
public sealed record SiloJobUsage
{
    [Id(0)] public required string Silo { get; init; }

    [Id(1)] public int Cores { get; init; }

    [Id(2)] public long Images { get; init; }

    [Id(3)] public double CpuSeconds { get; init; }
}

/// <summary>A point of a job's progress over time (the dashboard's images/s chart).</summary>
[GenerateSerializer, Immutable, Alias("mobilenet.throughput-sample")]
public sealed record ThroughputSample
{
    [Id(0)] public DateTimeOffset At { get; init; }

    /// <summary>Images processed (labeled + error rows) by then.</summary>
    [Id(1)] public long Processed { get; init; }
}
