using System.Buffers;
using System.Runtime.CompilerServices;

namespace MobileNet.Inference.Decoding;

/// <summary>A growable byte buffer rented from the shared pool.</summary>
internal struct PooledByteWriter(int capacity)
{
    private byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(256, capacity));
    private int length;

    /// <summary>Makes room for <paramref name="bytes"/> more, for <see cref="Append"/>.</summary>
    public void Reserve(int bytes)
    {
        if (length + bytes > buffer.Length)
        {
            Grow(bytes);
        }
    }

    /// <summary>One byte into room made by <see cref="Reserve"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Append(byte value) => buffer[length++] = value;

    public void Write(ReadOnlySpan<byte> bytes)
    {
        Reserve(bytes.Length);
        bytes.CopyTo(buffer.AsSpan(length));
        length += bytes.Length;
    }

    public (byte[] Buffer, int Length) Detach()
    {
        var result = (buffer, length);
        buffer = [];
        length = 0;
        return result;
    }

    public void Dispose()
    {
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = [];
        }
    }

    private void Grow(int needed)
    {
        var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Array.MaxLength, Math.Max((long)buffer.Length * 2, (long)length + needed)));
        buffer.AsSpan(0, length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(buffer);
        buffer = larger;
    }
}
