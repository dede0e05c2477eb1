namespace MobileNet.Inference;

/// <summary>Softmax and top-k selection over one output vector.</summary>
public static class ScoreMath
{
    /// <summary>In-place, numerically stable softmax (max subtracted, sum accumulated in double).</summary>
    public static void Softmax(Span<float> values)
    {
        if (values.IsEmpty)
        {
            return;
        }

        var max = float.NegativeInfinity;
        foreach (var v in values)
        {
            if (v > max)
            {
                max = v;
            }
        }

        double sum = 0;
        for (var i = 0; i < values.Length; i++)
        {
            var e = MathF.Exp(values[i] - max);
            values[i] = e;
            sum += e;
        }

        var inverse = (float)(1.0 / sum);
        for (var i = 0; i < values.Length; i++)
        {
            values[i] *= inverse;
        }
    }

    /// <summary>
    /// Indices of the <paramref name="k"/> highest scores, best first. Fixed tie rule: equal scores -> lower index first;
    /// NaN ranks below every number.
    /// </summary>
    public static int[] TopK(ReadOnlySpan<float> scores, int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, scores.Length);
        var best = new int[k];
        var count = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            // Scanning in index order, a later index only displaces an earlier one with a strictly better score,
            // which is exactly "equal scores -> lower index first".
            if (count == k && !Better(scores[i], scores[best[k - 1]]))
            {
                continue;
            }

            var position = count < k ? count++ : k - 1;
            while (position > 0 && Better(scores[i], scores[best[position - 1]]))
            {
                best[position] = best[position - 1];
                position--;
            }

            best[position] = i;
        }

        return best;
    }

    private static bool Better(float candidate, float incumbent) =>
        candidate > incumbent || (float.IsNaN(incumbent) && !float.IsNaN(candidate));
}
