using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MobileNet.Orleans.Client.Storage;
using MobileNet.Orleans.Contracts.Jobs;

namespace MobileNet.Orleans.Client.Jobs;

/// <summary>
/// Cost, efficiency and error classes as <c>status</c> and <c>watch</c> show them (kept apart from
/// <see cref="JobStatusFormatter"/> so the two can change independently).
/// </summary>
public static class JobCostFormatter
{
    public const string NodePriceVariable = "MOBILENET_NODE_PRICE";

    /// <summary>Error classes shown by <c>status</c> and <c>watch</c>.</summary>
    public const int TopErrorClasses = 3;

    /// <summary>The <c>--node-price</c> option (price of one node per hour; env <see cref="NodePriceVariable"/>).</summary>
    public static Option<decimal?> NodePriceOption() => new("--node-price")
    {
        Description = $"price of one node (silo) per hour, for cost per 1,000 images and the projected cost of the rest (env {NodePriceVariable})",
    };

    /// <summary>The price from the option, else the environment; refuses a negative or unreadable one (exit 2).</summary>
    public static decimal? ResolveNodePrice(decimal? option)
    {
        var price = option;
        if (price is null && Environment.GetEnvironmentVariable(NodePriceVariable) is { Length: > 0 } text)
        {
            price = decimal.TryParse(text, NumberStyles.Number, CultureInfo.InvariantCulture, out var parsed)
                ? parsed
                : throw new CliUsageException($"{NodePriceVariable}='{text}' is not a price (e.g. 0.40)");
        }

        return price is < 0 or > 1_000_000 ? throw new CliUsageException($"--node-price {price} must be between 0 and 1000000 per node-hour") : price;
    }

    /// <summary>Lines appended to the <c>status</c> block: efficiency, cost, top error classes.</summary>
    public static string ToText(JobStatus status, decimal? nodePrice)
    {
        ArgumentNullException.ThrowIfNull(status);
        var c = CultureInfo.InvariantCulture;
        var e = JobEfficiency.Of(status, nodePrice);
        var b = new StringBuilder();
        b.Append(c, $"efficiency {Number(e.CpuSecondsPer1000Images, "0.0")} CPU-s per 1,000 images, {Number(e.ImagesPerSecondPerCore, "0.00")} images/s per core ({e.Nodes} node(s), {e.Cores} cores)\n");
        if (nodePrice is { } price)
        {
            b.Append(c, $"cost       {Money(e.CostPer1000Images)} per 1,000 images, {Money(e.ProjectedRemainingCost)} for the rest of the job (at {price.ToString("0.####", c)} per node-hour)\n");
        }

        var classes = status.ErrorClasses.Take(TopErrorClasses).ToArray();
        if (classes.Length == 0)
        {
            b.Append("errors     none\n");
        }

        foreach (var (error, index) in classes.Select((x, i) => (x, i)))
        {
            b.Append(c, $"{(index == 0 ? "errors" : ""),-10} {error.Code} {error.Count}{Example(error)}\n");
        }

        if (status.ErrorClasses.Count > classes.Length)
        {
            b.Append(c, $"{"",-10} +{status.ErrorClasses.Count - classes.Length} more class(es), {status.ErrorClasses.Skip(classes.Length).Sum(x => x.Count)} images\n");
        }

        return b.ToString();
    }

    /// <summary>Appended to <c>watch</c>'s progress line: CPU-s per 1,000 images, cost when priced, the top error classes.</summary>
    public static string WatchSuffix(JobStatus status, decimal? nodePrice)
    {
        ArgumentNullException.ThrowIfNull(status);
        var c = CultureInfo.InvariantCulture;
        var e = JobEfficiency.Of(status, nodePrice);
        var b = new StringBuilder();
        // Nothing until a silo has reported CPU time: a line of dashes tells a watcher nothing.
        if (e.CpuSecondsPer1000Images is not null)
        {
            b.Append(c, $" | {Number(e.CpuSecondsPer1000Images, "0.0")} CPU-s/1k img, {Number(e.ImagesPerSecondPerCore, "0.00")} img/s/core");
            if (nodePrice is not null)
            {
                b.Append(c, $", {Money(e.CostPer1000Images)}/1k img, rest {Money(e.ProjectedRemainingCost)}");
            }
        }

        if (status.ErrorClasses.Count > 0)
        {
            b.Append(" | errors ").AppendJoin(", ", status.ErrorClasses.Take(TopErrorClasses).Select(x => string.Create(c, $"{x.Code} {x.Count}{Example(x)}")));
        }

        return b.ToString();
    }

    /// <summary>Adds <c>efficiency</c> and <c>errorClasses</c> to <c>status --json</c>'s object.</summary>
    public static void WriteJson(Utf8JsonWriter w, JobStatus status, decimal? nodePrice)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(status);
        var e = JobEfficiency.Of(status, nodePrice);
        w.WriteStartObject("efficiency");
        WriteNumber(w, "cpuSecondsPer1000Images", e.CpuSecondsPer1000Images);
        WriteNumber(w, "imagesPerSecondPerCore", e.ImagesPerSecondPerCore);
        w.WriteNumber("nodes", e.Nodes);
        w.WriteNumber("cores", e.Cores);
        WriteNumber(w, "nodePricePerHour", (double?)e.NodePricePerHour);
        WriteNumber(w, "costPer1000Images", (double?)e.CostPer1000Images);
        WriteNumber(w, "projectedRemainingCost", (double?)e.ProjectedRemainingCost);
        w.WriteEndObject();
        w.WriteStartArray("errorClasses");
        foreach (var error in status.ErrorClasses)
        {
            w.WriteStartObject();
            w.WriteString("code", error.Code);
            w.WriteNumber("count", error.Count);
            w.WriteStartArray("examples");
            foreach (var example in error.Examples)
            {
                w.WriteStringValue(SecretRedaction.Redact(example));
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static string Example(ErrorClass error) => error.Examples.Count > 0 ? $" (e.g. {SecretRedaction.Redact(error.Examples[0])})" : "";

    private static string Number(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";

    private static string Money(decimal? value) => value is { } v ? v.ToString(v < 1 ? "0.0000" : "0.00", CultureInfo.InvariantCulture) : "-";

    private static void WriteNumber(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v))
        {
            w.WriteNumber(name, Math.Round(v, 4));
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
