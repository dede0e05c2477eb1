using System.Globalization;
using System.Text;
using System.Text.Json;
using MobileNet.Orleans.Contracts.Jobs;

namespace MobileNet.Orleans.Client.Jobs;

/// <summary>The status lines of the data-product options (tags, review queue, incremental, retry), beside the job's core status.</summary>
internal static class DataProductStatus
{
    public static void WriteJson(Utf8JsonWriter w, JobStatus status)
    {
        var spec = status.Spec;
        w.WriteBoolean("incremental", spec.Incremental);
        if (spec.RetryOf is { } parent)
        {
            w.WriteString("retryOf", parent);
        }

        if (spec.TagBlobs)
        {
            w.WriteBoolean("tagBlobs", true);
            w.WriteNumber("tagsSkipped", status.TagsSkipped);
        }

        if (spec.ReviewBelow is not null || spec.ReviewMargin is not null)
        {
            w.WriteNumber("forReview", status.ForReview);
        }

        if (spec.FollowEvery is { } every)
        {
            w.WriteNumber("followEverySeconds", every.TotalSeconds);
            w.WriteNumber("followRounds", status.FollowRounds);
        }

        w.WriteNumber("labeledLastMinute", status.LabeledLastMinute);
        w.WriteNumber("labeledLastHour", status.LabeledLastHour);
        WriteNumberOrNull(w, "lagSeconds", status.LagSeconds);
        WriteNumberOrNull(w, "maxLagLastHourSeconds", status.MaxLagLastHourSeconds);
    }

    private static void WriteNumberOrNull(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, Math.Round(v, 1));
        }
        else
        {
            w.WriteNull(name);
        }
    }

    public static IEnumerable<(string Label, string Value)> Rows(JobStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var c = CultureInfo.InvariantCulture;
        var spec = status.Spec;
        if (spec.FollowEvery is { } every)
        {
            yield return ("follow", string.Create(c, $"relists every {every.TotalSeconds:0.#} s until cancelled; {status.FollowRounds} round(s) done"));
        }

        if (spec.FollowEvery is not null || status.LabeledLastMinute > 0 || status.LabeledLastHour > 0)
        {
            var lag = status.LagSeconds is { } l ? $"{l:0.0} s (max {status.MaxLagLastHourSeconds ?? l:0.0} s in the last hour)" : "-";
            yield return ("recent", string.Create(c, $"{status.LabeledLastMinute} images in the last minute, {status.LabeledLastHour} in the last hour; lag from blob creation to label {lag}"));
        }

        if (spec.Incremental || spec.RetryOf is not null)
        {
            yield return ("mode", string.Create(c, $"{(spec.Incremental ? "incremental (only new or changed blobs)" : "")}{(spec.Incremental && spec.RetryOf is not null ? "; " : "")}{(spec.RetryOf is { } p ? $"retry of {p}{(spec.RetryCodes.Count > 0 ? $" (codes {string.Join(',', spec.RetryCodes)})" : "")}" : "")}"));
        }

        if (spec.TagBlobs)
        {
            yield return ("tags", string.Create(c, $"written on labeled source blobs; {status.TagsSkipped} left untagged (no room beside the blob's own tags, or the blob changed)"));
        }

        if (spec.ReviewBelow is not null || spec.ReviewMargin is not null)
        {
            var rules = string.Join(" or ", new[] { spec.ReviewBelow is { } below ? $"top-1 < {below.ToString(c)}" : null, spec.ReviewMargin is { } margin ? $"top-1 - top-2 < {margin.ToString(c)}" : null }.Where(r => r is not null));
            yield return ("review", string.Create(c, $"{status.ForReview} image(s) for review ({rules}); list them with 'mobilenet results {status.JobId} --review'"));
        }
    }
}
