using System.Globalization;
using System.Text;

namespace MobileNet.Orleans.Contracts.Labels;

/// <summary>
/// The blob index tags a <c>--tag-blobs</c> job writes onto each labeled source blob, and the mapping that
/// <c>mobilenet find</c> applies to its query so both agree. Tag values may only hold letters, digits, space and
/// <c>+ - . / : = _</c> (at most 256), so a label is lowercased and every other character becomes <c>_</c>
/// (<c>"jack-o'-lantern"</c> is stored as <c>jack-o_-lantern</c>). Scores are floored to buckets of 0.01 written as
/// <c>0.00</c>..<c>1.00</c>, whose string order is their numeric order (tag queries compare strings).
/// </summary>
public static class BlobLabelTags
{
    /// <summary>Azure's limit per blob, the user's own tags included.</summary>
    public const int MaxTagsPerBlob = 10;

    public const string Prefix = "mnl-";
    public const string LabelKey = "mnl-label";
    public const string ScoreKey = "mnl-score";
    public const string ModelKey = "mnl-model";
    public const string JobKey = "mnl-job";

    /// <summary>How many tags a labeled blob gets from us; they are written all together or not at all.</summary>
    public const int OwnTagCount = 4;

    public const int MaxValueLength = 256;

    /// <summary>Ours: written by a job (any other key is the user's and is kept untouched).</summary>
    public static bool IsOwn(string key) => key.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>The tags for one labeled image: label, score bucket, model (<c>name:sha8</c>; '@' is not a tag character) and job.</summary>
    public static IReadOnlyDictionary<string, string> For(string label, float score, string modelName, string? modelSha256, string jobId) =>
        new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [LabelKey] = Value(label),
            [ScoreKey] = ScoreBucket(score),
            [ModelKey] = Value(ModelVersion(modelName, modelSha256)),
            [JobKey] = Value(jobId),
        };

    /// <summary>A model version as tags and result files name it: <c>name:sha8</c>.</summary>
    public static string ModelVersion(string modelName, string? modelSha256) =>
        modelSha256 is { Length: >= 8 } sha ? $"{modelName}:{sha[..8]}" : modelName;

    /// <summary>A label (or any text) as a tag value: lowercase, characters outside the tag set replaced by <c>_</c>.</summary>
    public static string Value(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var builder = new StringBuilder(Math.Min(text.Length, MaxValueLength));
        foreach (var c in text.ToLowerInvariant())
        {
            if (builder.Length == MaxValueLength)
            {
                break;
            }

            builder.Append(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or ' ' or '+' or '-' or '.' or '/' or ':' or '=' or '_' ? c : '_');
        }

        return builder.Length == 0 ? "_" : builder.ToString();
    }

    /// <summary>The score floored to 0.01, as <c>0.83</c> (NaN or negative: <c>0.00</c>; 1 and above: <c>1.00</c>).</summary>
    public static string ScoreBucket(float score)
    {
        var clamped = float.IsFinite(score) ? Math.Clamp(score, 0f, 1f) : 0f;
        // Floor in decimal so 0.8 (a float slightly below 0.8) still lands in 0.80.
        var hundredths = (int)Math.Floor(Math.Round((decimal)clamped * 100m, 4));
        return (hundredths / 100m).ToString("0.00", CultureInfo.InvariantCulture);
    }

    /// <summary>A tag filter expression (Find Blobs by Tags / x-ms-if-tags): <c>"k" = 'v' AND ...</c>, ordered by key.</summary>
    public static string MatchExpression(IEnumerable<KeyValuePair<string, string>> tags) =>
        string.Join(" AND ", tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"\"{t.Key}\" = '{t.Value}'"));
}
