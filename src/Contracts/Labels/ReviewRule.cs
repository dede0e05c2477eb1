namespace MobileNet.Orleans.Contracts.Labels;

/// <summary>
/// Which labeled images go to reviewers: top-1 score below <see cref="Below"/>, or top-1 minus top-2 below
/// <see cref="Margin"/> (either rule suffices). Shared by the workers (which count them for <c>status</c>) and
/// <c>mobilenet results --review</c> (which lists them), so both agree.
/// </summary>
public sealed record ReviewRule(float? Below, float? Margin)
{
    public bool IsActive => Below is not null || Margin is not null;

    /// <summary>True when an image with these descending scores needs review; an image with no labels (an error row) never does.</summary>
    public bool Needs(IReadOnlyList<float> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (scores.Count == 0)
        {
            return false;
        }

        var top1 = scores[0];
        if (Below is { } below && !(top1 >= below))
        {
            return true;
        }

        return Margin is { } margin && scores.Count >= 2 && top1 - scores[1] < margin;
    }
}
