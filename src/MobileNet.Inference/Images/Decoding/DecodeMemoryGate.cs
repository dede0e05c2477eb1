namespace MobileNet.Inference.Decoding;

/// <summary>
/// Bounds the native memory that concurrent decodes hold at once. A progressive JPEG keeps every DCT coefficient of
/// the whole image until its last scan, whatever scale it is decoded at (5120x2880 4:4:4: 88 MB); two or more of them
/// decoding side by side would push a 2-core silo past its memory budget. A decode whose estimate does not fit waits
/// for the others to finish; one larger than the whole budget still runs, alone. Process-wide, as the memory is.
/// </summary>
internal sealed class DecodeMemoryGate(long budgetBytes)
{
    public const long DefaultBudgetBytes = 128L * 1024 * 1024;

    private readonly object gate = new();
    private long inUse;

    public static DecodeMemoryGate Shared { get; } = new(DefaultBudgetBytes);

    /// <summary>Waits until <paramref name="bytes"/> fit (or nothing else is running) and holds them until disposed.</summary>
    public Reservation Reserve(long bytes)
    {
        if (bytes <= 0)
        {
            return default;
        }

        lock (gate)
        {
            while (inUse > 0 && inUse + bytes > budgetBytes)
            {
                Monitor.Wait(gate);
            }

            inUse += bytes;
        }

        return new Reservation(this, bytes);
    }

    private void Release(long bytes)
    {
        lock (gate)
        {
            inUse -= bytes;
            Monitor.PulseAll(gate);
        }
    }

    public readonly struct Reservation(DecodeMemoryGate? owner, long bytes) : IDisposable
    {
        public void Dispose() => owner?.Release(bytes);
    }
}
