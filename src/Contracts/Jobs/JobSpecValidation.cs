using System.Text.RegularExpressions;
using MobileNet.Orleans.Contracts.Storage;

namespace MobileNet.Orleans.Contracts.Jobs;

/// <summary>
/// The checks every job spec must pass, shared by the client (before it submits) and the coordinator (which never
/// trusts its caller). Each failure is an <see cref="ArgumentException"/> whose message says what to fix.
/// </summary>
public static partial class JobSpecValidation
{
    public const int MaxAttemptsLimit = 10;

    public static void Validate(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Require(spec.Source is not null && spec.Output is not null, "source and output locations are required");
        ValidateContainer(spec.Source!, "source");
        ValidateContainer(spec.Output!, "output");
        Require(IsValidModelName(spec.ModelName), $"model name '{spec.ModelName}' must be 1-64 characters of lowercase letters, digits, '.', '_' or '-', starting with a letter or digit");
        Require(spec.TopK is >= 1 and <= JobDefaults.MaxTopK, $"top-k must be between 1 and {JobDefaults.MaxTopK} (got {spec.TopK})");
        Require(spec.ShardSize is >= 1 and <= JobDefaults.MaxShardSize, $"shard size must be between 1 and {JobDefaults.MaxShardSize} (got {spec.ShardSize})");
        Require((long)spec.TopK * spec.ShardSize <= JobDefaults.MaxLabelsPerShard, $"top-k x shard size must be at most {JobDefaults.MaxLabelsPerShard} labels per shard (got {spec.TopK} x {spec.ShardSize} = {(long)spec.TopK * spec.ShardSize}); lower --top-k or --shard-size");
        Require(spec.MaxShardAttempts is >= 1 and <= MaxAttemptsLimit, $"max shard attempts must be between 1 and {MaxAttemptsLimit} (got {spec.MaxShardAttempts})");
        Require(IsSafeBlobPath(spec.Output!.Prefix, allowEmpty: true), $"output prefix '{spec.Output.Prefix}' must not contain '.' or '..' segments, backslashes or control characters, and be at most 1024 characters");
        if (spec.ManifestBlob is { } manifest)
        {
            Require(IsSafeBlobPath(manifest, allowEmpty: false), $"manifest blob name '{manifest}' must be non-empty, without '.' or '..' segments, backslashes or control characters");
        }

        if (spec.MaxErrors is { } threshold)
        {
            Require(threshold.MaxCount is null or >= 0, "the error threshold count must not be negative");
            Require(threshold.MaxFraction is null or (>= 0 and <= 1), "the error threshold percentage must be between 0% and 100%");
        }

        ValidateDataProducts(spec);
    }

    /// <summary>Review rules, incremental labeling and retries (issue 12): each option alone and how they combine.</summary>
    private static void ValidateDataProducts(JobSpec spec)
    {
        Require(spec.ReviewBelow is null or (>= 0 and <= 1) && !float.IsNaN(spec.ReviewBelow ?? 0), $"review score threshold must be between 0 and 1 (got {spec.ReviewBelow})");
        Require(spec.ReviewMargin is null or (>= 0 and <= 1) && !float.IsNaN(spec.ReviewMargin ?? 0), $"review margin must be between 0 and 1 (got {spec.ReviewMargin})");
        Require(spec.ReviewMargin is null || spec.TopK >= 2, "a review margin (top-1 minus top-2) needs --top-k 2 or more");
        Require(!(spec.Incremental && spec.ManifestBlob is not null), "--incremental labels what is new under a source prefix; it cannot be combined with --manifest");
        Require(spec.RetryCodes is not null, "retry codes must be a list");
        if (spec.FollowEvery is { } every)
        {
            Require(every >= MinFollowEvery && every <= MaxFollowEvery, $"--every must be between {MinFollowEvery.TotalSeconds:0} s and {MaxFollowEvery.TotalHours:0} h (got {every})");
            Require(spec.Incremental, "--follow keeps a ledger of what it labeled: it needs --incremental");
            Require(spec.ManifestBlob is null && spec.RetryOf is null, "--follow relists a source prefix; it cannot be combined with --manifest or a retry");
        }

        if (spec.RetryOf is { } parent)
        {
            Require(JobId.IsValid(parent), $"job to retry '{parent}' is not a job id");
            Require(spec.ManifestBlob is null, "a retry names its images from the retried job's error rows; it cannot have a manifest");
            Require(spec.RetryCodes!.Count <= MaxRetryCodes, $"at most {MaxRetryCodes} error codes may be retried at once");
            foreach (var code in spec.RetryCodes)
            {
                Require(ErrorCode().IsMatch(code), $"error code '{code}' must be 1-40 lowercase letters, digits or hyphens (as in 'not-an-image')");
            }
        }
        else
        {
            Require(spec.RetryCodes!.Count == 0, "error codes to retry need a job to retry");
        }
    }

    public const int MaxRetryCodes = 16;

    public static readonly TimeSpan MinFollowEvery = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan MaxFollowEvery = TimeSpan.FromHours(24);

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,39}$", RegexOptions.CultureInvariant)]
    private static partial Regex ErrorCode();

    public static bool IsValidModelName(string? name) => name is not null && ModelName().IsMatch(name);

    /// <summary>
    /// True for a blob name or prefix that addresses exactly itself: storage URLs collapse <c>.</c> and <c>..</c>
    /// segments and turn backslashes into slashes, which could place a blob outside the intended folder.
    /// </summary>
    public static bool IsSafeBlobPath(string? path, bool allowEmpty)
    {
        if (path is null || path.Length > 1024)
        {
            return false;
        }

        if (path.Length == 0)
        {
            return allowEmpty;
        }

        if (path.Contains('\\', StringComparison.Ordinal) || path.Any(char.IsControl))
        {
            return false;
        }

        foreach (var segment in path.Split('/'))
        {
            if (segment is "." or "..")
            {
                return false;
            }
        }

        return true;
    }

    private static void ValidateContainer(BlobPath path, string what)
    {
        try
        {
            _ = BlobPath.Parse(path.Container);
        }
        catch (FormatException ex)
        {
            throw new ArgumentException($"{what}: {ex.Message}", ex);
        }
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex ModelName();
}
