namespace MobileNet.Inference.Tests;

public sealed class ScoreMathTests
{
    [Fact]
    public void Softmax_Logits_SumsToOneAndKeepsOrder()
    {
        float[] values = [1f, 2f, 3f, 10f, -10f];
        ScoreMath.Softmax(values);
        Assert.Equal(1.0, values.Sum(v => (double)v), 5);
        Assert.All(values, v => Assert.True(float.IsFinite(v)));
        Assert.True(values[3] > values[2] && values[2] > values[1] && values[1] > values[0]);
    }

    [Fact]
    public void Softmax_HugeLogits_StaysFinite()
    {
        float[] values = [1000f, 999f, -1000f];
        ScoreMath.Softmax(values);
        Assert.Equal(1.0, values.Sum(v => (double)v), 5);
        Assert.True(values[0] > values[1] && values[1] > values[2]);
    }

    [Fact]
    public void Softmax_KnownValues_MatchesDefinition()
    {
        float[] values = [0f, MathF.Log(3f)];
        ScoreMath.Softmax(values);
        Assert.Equal(0.25f, values[0], 6);
        Assert.Equal(0.75f, values[1], 6);
    }

    [Fact]
    public void TopK_EqualScores_LowerIndexFirst()
    {
        float[] scores = [0.1f, 0.3f, 0.2f, 0.3f, 0.3f, 0.05f];
        Assert.Equal([1, 3, 4, 2], ScoreMath.TopK(scores, 4));
    }

    [Fact]
    public void TopK_TiesAtTheCutoff_KeepsLowerIndex()
    {
        float[] scores = [0.5f, 0.2f, 0.2f, 0.2f];
        Assert.Equal([0, 1], ScoreMath.TopK(scores, 2));
    }

    [Fact]
    public void TopK_NaN_RanksLast()
    {
        float[] scores = [float.NaN, 0.1f, 0.9f];
        Assert.Equal([2, 1, 0], ScoreMath.TopK(scores, 3));
    }

    [Fact]
    public void TopK_RandomScores_MatchesFullSort()
    {
        var random = new Random(7);
        var scores = Enumerable.Range(0, 1000).Select(_ => (float)Math.Round(random.NextDouble(), 2)).ToArray();
        var expected = Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).ThenBy(i => i).Take(50);
        Assert.Equal(expected, ScoreMath.TopK(scores, 50));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void TopK_KOutOfRange_Throws(int k)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ScoreMath.TopK(new float[3], k));
    }
}
