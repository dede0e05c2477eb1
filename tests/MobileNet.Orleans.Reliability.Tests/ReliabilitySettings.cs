using System.Globalization;

namespace MobileNet.Orleans.Reliability.Tests;

/// <summary>
/// Sizes, seed and kill timing of the scenarios, from the environment so that a run can be repeated with others
/// (scripts/reliability.sh sets the full sizes; CI keeps the small defaults).
/// </summary>
internal static class ReliabilitySettings
{
    public const string ImagesVariable = "MOBILENET_RELIABILITY_IMAGES";
    public const string SeedVariable = "MOBILENET_RELIABILITY_SEED";
    public const string KillAtVariable = "MOBILENET_RELIABILITY_KILL_AT";
    public const string ShardSizeVariable = "MOBILENET_RELIABILITY_SHARD_SIZE";
    public const string ImageSizeVariable = "MOBILENET_RELIABILITY_IMAGE_SIZE";
    public const string ResultsVariable = "MOBILENET_RELIABILITY_RESULTS";
    public const string FullVariable = "MOBILENET_RELIABILITY_FULL";
    public const string CommandVariable = "MOBILENET_RELIABILITY_COMMAND";

    /// <summary>Generated images per scenario (the full run: 3,000).</summary>
    public static int Images => Int(ImagesVariable, 200, 20, 1_000_000);

    public static int Seed => Int(SeedVariable, 1, 0, int.MaxValue);

    /// <summary>Fraction of the job done when a fault is injected (the issue: about 30%).</summary>
    public static double KillAt
    {
        get
        {
            var text = Environment.GetEnvironmentVariable(KillAtVariable);
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value is > 0 and < 0.95 ? value : 0.3;
        }
    }

    /// <summary>Images per shard: about 30 shards whatever the size, so faults land mid-job with shards on every silo.</summary>
    public static int ShardSize => Int(ShardSizeVariable, Math.Clamp(Images / 30, 5, 200), 1, 10_000);

    /// <summary>Side of the generated JPEGs, in pixels.</summary>
    public static int ImageSize => Int(ImageSizeVariable, 96, 16, 2048);

    /// <summary>Runs the scenarios CI leaves out for time (they still run with scripts/reliability.sh).</summary>
    public static bool Full => Environment.GetEnvironmentVariable(FullVariable) == "1";

    /// <summary>The command recorded beside each figure (scripts/reliability.sh sets it).</summary>
    public static string Command => Environment.GetEnvironmentVariable(CommandVariable) is { Length: > 0 } command
        ? command
        : "MOBILENET_TEST_BLOB_PORT=10100 bash scripts/test.sh (CI size)";

    /// <summary>Where each scenario appends its figures as one JSON line.</summary>
    public static string ResultsFile => Environment.GetEnvironmentVariable(ResultsVariable) is { Length: > 0 } path
        ? path
        : Path.Combine(RepositoryLayout.Root, ".run", "reliability", "results.jsonl");

    /// <summary>Skips a scenario in CI (the suite's time limit on a 2-core machine); it runs with scripts/reliability.sh.</summary>
    public static void SkipInCi(string why) =>
        Skip.IfNot(Full, $"left out of CI for time ({why}); runs with scripts/reliability.sh or {FullVariable}=1");

    private static int Int(string variable, int fallback, int min, int max)
    {
        var text = Environment.GetEnvironmentVariable(variable);
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max ? value : fallback;
    }
}
