using System.CommandLine;
using System.Globalization;
using MobileNet.Orleans.Contracts.Jobs;

namespace MobileNet.Orleans.Client.Commands;

/// <summary>
/// The <c>submit</c> options that shape what a job leaves behind (issue 12): <c>--tag-blobs</c>,
/// <c>--review-below</c>, <c>--review-margin</c>, <c>--incremental</c>. Kept apart from the core options so each
/// concern stays in its own file.
/// </summary>
internal sealed class SubmitDataOptions
{
    private readonly Option<bool> tagBlobs = new("--tag-blobs") { Description = "write blob index tags (mnl-label, mnl-score, mnl-model, mnl-job) onto every labeled source blob, keeping the blob's own tags; query them with 'mobilenet find'" };
    private readonly Option<string?> reviewBelow = new("--review-below") { Description = "images whose top-1 score is below this (0..1) go to the review queue ('mobilenet results <job> --review')" };
    private readonly Option<string?> reviewMargin = new("--review-margin") { Description = "images whose top-1 minus top-2 score is below this (0..1) go to the review queue" };
    private readonly Option<bool> incremental = new("--incremental") { Description = "label only blobs that are new or changed (name + ETag) since the last incremental job on this source and model; see 'mobilenet results --latest'" };

    private readonly Option<bool> follow = new("--follow") { Description = "keep the job open: relist the source every --every and label what arrived (each blob once, via the ledger), until 'mobilenet cancel'" };
    private readonly Option<string?> every = new("--every") { Description = "with --follow: how often to relist, e.g. 30s, 5m, 1h (default 30s)" };

    public SubmitDataOptions(Command command)
    {
        command.Options.Add(follow);
        command.Options.Add(every);
        command.Options.Add(tagBlobs);
        command.Options.Add(reviewBelow);
        command.Options.Add(reviewMargin);
        command.Options.Add(incremental);
    }

    public JobSpec Apply(ParseResult parse, JobSpec spec)
    {
        var applied = spec with
        {
            TagBlobs = parse.GetValue(tagBlobs),
            ReviewBelow = ParseFraction("--review-below", parse.GetValue(reviewBelow)),
            ReviewMargin = ParseFraction("--review-margin", parse.GetValue(reviewMargin)),
            // --follow keeps a ledger of what it labeled, so it is incremental by nature.
            Incremental = parse.GetValue(incremental) || parse.GetValue(follow),
            FollowEvery = FollowPeriod(parse.GetValue(follow), parse.GetValue(every)),
        };
        try
        {
            JobSpecValidation.Validate(applied);
        }
        catch (ArgumentException ex)
        {
            throw new CliUsageException(ex.Message);
        }

        return applied;
    }

    private static TimeSpan? FollowPeriod(bool follow, string? every)
    {
        if (!follow)
        {
            return every is null ? null : throw new CliUsageException("--every needs --follow");
        }

        if (every is null)
        {
            return TimeSpan.FromSeconds(30);
        }

        var text = every.Trim().ToLowerInvariant();
        var unit = text.Length > 0 ? text[^1] : ' ';
        var scale = unit switch { 's' => 1, 'm' => 60, 'h' => 3600, _ => 0 };
        if (scale == 0 || !double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) || !double.IsFinite(amount) || amount <= 0)
        {
            throw new CliUsageException($"--every '{every}' must be a period like 30s, 5m or 1h");
        }

        return TimeSpan.FromSeconds(amount * scale);
    }

    public static float? ParseFraction(string option, string? value)
    {
        if (value is null)
        {
            return null;
        }

        if (!float.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) || !float.IsFinite(parsed) || parsed is < 0 or > 1)
        {
            throw new CliUsageException($"{option} '{value}' must be a number between 0 and 1 (e.g. 0.5)");
        }

        return parsed;
    }
}
