namespace MobileNet.Orleans.Contracts.Jobs;

/// <summary>
/// Cost and efficiency of a job from its status: CPU-seconds per 1,000 images and images/s per core (from the silos'
/// usage reports), and, given a price per node-hour, the cost per 1,000 images and of the rest of the job. A node is
/// a silo (one silo per machine or pod); the cost counts the nodes' wall-clock time, which is what a bill counts.
/// </summary>
public sealed record JobEfficiency
{
    /// <summary>Process CPU-seconds the silos spent per 1,000 images; null before any usage report.</summary>
    public double? CpuSecondsPer1000Images { get; init; }

    /// <summary>Images per second per core of the silos working on the job; null without a rate or cores.</summary>
    public double? ImagesPerSecondPerCore { get; init; }

    /// <summary>Silos that reported work on the job.</summary>
    public int Nodes { get; init; }

    public int Cores { get; init; }

    /// <summary>Price per node-hour the costs below use; null when none was given.</summary>
    public decimal? NodePricePerHour { get; init; }

    /// <summary>Node time per 1,000 images at the job's rate, times the price.</summary>
    public decimal? CostPer1000Images { get; init; }

    /// <summary>The rest of the job (images not yet processed at the current rate) at the price; 0 once it ended.</summary>
    public decimal? ProjectedRemainingCost { get; init; }

    public static JobEfficiency Of(JobStatus status, decimal? nodePricePerHour = null)
    {
        ArgumentNullException.ThrowIfNull(status);
        if (nodePricePerHour is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(nodePricePerHour), nodePricePerHour, "a node price cannot be negative");
        }

        var reporting = status.Silos.Where(s => s.AccountedImages > 0).ToArray();
        var images = reporting.Sum(s => s.AccountedImages);
        var cpu = reporting.Sum(s => s.CpuSeconds);
        var cores = reporting.Sum(s => s.Cores);
        var nodes = reporting.Length;
        var rate = status.ImagesPerSecond;
        decimal? per1000 = null;
        decimal? remaining = null;
        if (nodePricePerHour is { } price && rate > 0 && nodes > 0)
        {
            per1000 = price * nodes * (decimal)(1000 / rate / 3600);
            var left = status.IsTerminal ? 0 : Math.Max(0, status.TotalImages - status.Labeled - status.Errors);
            remaining = price * nodes * (decimal)(left / rate / 3600);
        }

        return new JobEfficiency
        {
            CpuSecondsPer1000Images = images > 0 ? cpu * 1000 / images : null,
            ImagesPerSecondPerCore = rate > 0 && cores > 0 ? rate / cores : null,
            Nodes = nodes,
            Cores = cores,
            NodePricePerHour = nodePricePerHour,
            CostPer1000Images = per1000,
            ProjectedRemainingCost = remaining,
        };
    }
}
