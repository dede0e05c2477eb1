namespace MobileNet.Modeling.Architectures;

/// <summary>
/// Deterministic pseudo-random weights: SplitMix64 plus Box-Muller, so a seed gives the same model on every
/// machine and .NET version (System.Random's sequence is not a documented contract).
/// </summary>
internal sealed class SeededWeights(ulong seed)
{
    private ulong _state = seed;
    private double? _spareNormal;

    public float[] Normal(long count, double standardDeviation)
    {
        var values = new float[count];
        for (long i = 0; i < count; i++)
        {
            values[i] = (float)(NextNormal() * standardDeviation);
        }

        return values;
    }

    public float[] Uniform(long count, double min, double max)
    {
        var values = new float[count];
        for (long i = 0; i < count; i++)
        {
            values[i] = (float)(min + ((max - min) * NextUniform()));
        }

        return values;
    }

    private double NextNormal()
    {
        if (_spareNormal is { } spare)
        {
            _spareNormal = null;
            return spare;
        }

        // Box-Muller: 1 - u keeps the logarithm's argument in (0, 1].
        var u1 = 1.0 - NextUniform();
        var u2 = NextUniform();
        var radius = Math.Sqrt(-2.0 * Math.Log(u1));
        _spareNormal = radius * Math.Sin(2 * Math.PI * u2);
        return radius * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Uniform in [0, 1) with 53 bits of precision.</summary>
    private double NextUniform() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    private ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
