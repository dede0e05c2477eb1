namespace MobileNet.Orleans.Client.Jobs;

/// <summary>A calibration run's progress samples: seconds since submit and images processed by then.</summary>
public sealed record CalibrationRun(IReadOnlyList<(double Seconds, long Processed)> Samples, int Nodes, int Cores, double? CpuSecondsPer1000Images);

/// <summary>What <c>mobilenet estimate</c> prints.</summary>
public sealed record JobEstimate(
    long Images,
    int Nodes,
    double StartupSeconds,
    double ImagesPerSecondPerNode,
    double ExpectedSeconds,
    decimal? NodePricePerHour,
    decimal? ExpectedCost,
    decimal? CostPer1000Images);

/// <summary>
/// From a calibration run to an estimate: the start-up time (submit to the first images processed: listing, model
/// download and load, first decodes) plus the images over the steady rate the calibration's nodes reached, scaled to
/// the nodes asked for. The steady rate is measured after the first tenth of the calibration's images, so the
/// start-up is not counted twice; cost is nodes x expected time x the price per node-hour.
/// </summary>
public static class CalibrationEstimator
{
    public static JobEstimate Estimate(CalibrationRun run, long images, int? nodes, decimal? nodePricePerHour)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(images);
        if (run.Nodes <= 0)
        {
            throw new ArgumentException("the calibration ran on no node");
        }

        var samples = run.Samples.OrderBy(s => s.Seconds).ToArray();
        var first = samples.FirstOrDefault(s => s.Processed > 0);
        var last = samples.LastOrDefault();
        if (first == default || last.Processed <= first.Processed)
        {
            throw new InvalidOperationException("the calibration processed too few images to measure a rate; give it more images (--calibration-images)");
        }

        // Steady phase: from the first sample past a tenth of the calibration's images to the last.
        var from = samples.First(s => s.Processed >= Math.Max(first.Processed, last.Processed / 10));
        if (last.Seconds - from.Seconds <= 0 || last.Processed <= from.Processed)
        {
            from = first;
        }

        var rate = (last.Processed - from.Processed) / (last.Seconds - from.Seconds);
        // Start-up: when the first image would have been done at the steady rate (extrapolated back from the steady phase).
        var startup = Math.Max(0, from.Seconds - (from.Processed / rate));
        var target = nodes ?? run.Nodes;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(target);
        var perNode = rate / run.Nodes;
        var expected = startup + (images / (perNode * target));
        decimal? cost = nodePricePerHour is { } price ? price * target * (decimal)(expected / 3600) : null;
        decimal? per1000 = nodePricePerHour is { } p ? p * target * (decimal)(1000 / (perNode * target) / 3600) : null;
        return new JobEstimate(images, target, startup, perNode, expected, nodePricePerHour, cost, per1000);
    }
}
