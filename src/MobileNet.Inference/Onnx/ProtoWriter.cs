using System.Buffers.Binary;
using System.Text;

namespace MobileNet.Inference.Onnx;

/// <summary>
/// Writes protocol-buffer wire format as a list of segments: nested messages are written to child writers and
/// appended by reference, and large byte fields (weights) are never copied, so a 100 MB model costs one copy
/// (to the output stream), not one per nesting level.
/// </summary>
internal sealed class ProtoWriter
{
    private const int LargeBytes = 4096;
    private readonly List<ReadOnlyMemory<byte>> _segments = [];
    private byte[] _chunk = new byte[128];
    private int _chunkStart;
    private int _chunkPosition;

    /// <summary>Total bytes written so far.</summary>
    public long Length { get; private set; }

    public void WriteTag(int field, ProtoWireType wireType) => WriteVarint(((ulong)(uint)field << 3) | (uint)wireType);

    public void WriteVarint(ulong value)
    {
        Ensure(10);
        while (value >= 0x80)
        {
            _chunk[_chunkPosition++] = (byte)(value | 0x80);
            value >>= 7;
            Length++;
        }

        _chunk[_chunkPosition++] = (byte)value;
        Length++;
    }

    public void WriteInt64(int field, long value)
    {
        WriteTag(field, ProtoWireType.Varint);
        WriteVarint((ulong)value);
    }

    /// <summary>int32/enum: negative values are sign-extended to 64 bits, as protobuf requires.</summary>
    public void WriteInt32(int field, int value) => WriteInt64(field, value);

    public void WriteFloat(int field, float value)
    {
        WriteTag(field, ProtoWireType.Fixed32);
        Ensure(4);
        BinaryPrimitives.WriteSingleLittleEndian(_chunk.AsSpan(_chunkPosition), value);
        _chunkPosition += 4;
        Length += 4;
    }

    public void WriteString(int field, string value) => WriteBytes(field, Encoding.UTF8.GetBytes(value));

    /// <summary>Writes the string only when non-empty (proto3-style default omission for optional text).</summary>
    public void WriteStringIfSet(int field, string value)
    {
        if (value.Length > 0)
        {
            WriteString(field, value);
        }
    }

    public void WriteBytes(int field, ReadOnlyMemory<byte> value)
    {
        WriteTag(field, ProtoWireType.LengthDelimited);
        WriteVarint((ulong)value.Length);
        WriteRaw(value);
    }

    public void WriteMessage(int field, Action<ProtoWriter> body)
    {
        var child = new ProtoWriter();
        body(child);
        child.Flush();
        WriteTag(field, ProtoWireType.LengthDelimited);
        WriteVarint((ulong)child.Length);
        Flush();
        _segments.AddRange(child._segments);
        Length += child.Length;
    }

    public void WritePackedInt64(int field, IReadOnlyCollection<long> values)
    {
        if (values.Count == 0)
        {
            return;
        }

        WriteMessage(field, w =>
        {
            foreach (var v in values)
            {
                w.WriteVarint((ulong)v);
            }
        });
    }

    public void WritePackedFloat(int field, IReadOnlyCollection<float> values)
    {
        if (values.Count == 0)
        {
            return;
        }

        var bytes = new byte[checked(values.Count * 4)];
        var i = 0;
        foreach (var v in values)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i), v);
            i += 4;
        }

        WriteBytes(field, bytes);
    }

    public void WritePackedDouble(int field, IReadOnlyCollection<double> values)
    {
        if (values.Count == 0)
        {
            return;
        }

        var bytes = new byte[checked(values.Count * 8)];
        var i = 0;
        foreach (var v in values)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i), v);
            i += 8;
        }

        WriteBytes(field, bytes);
    }

    public void WriteTo(Stream stream)
    {
        Flush();
        foreach (var segment in _segments)
        {
            stream.Write(segment.Span);
        }
    }

    public byte[] ToArray()
    {
        Flush();
        var result = new byte[checked((int)Length)];
        var at = 0;
        foreach (var segment in _segments)
        {
            segment.Span.CopyTo(result.AsSpan(at));
            at += segment.Length;
        }

        return result;
    }

    private void WriteRaw(ReadOnlyMemory<byte> value)
    {
        if (value.Length >= LargeBytes)
        {
            Flush();
            _segments.Add(value);
        }
        else
        {
            Ensure(value.Length);
            value.Span.CopyTo(_chunk.AsSpan(_chunkPosition));
            _chunkPosition += value.Length;
        }

        Length += value.Length;
    }

    private void Ensure(int bytes)
    {
        if (_chunk.Length - _chunkPosition >= bytes)
        {
            return;
        }

        Flush();
        _chunk = new byte[Math.Max(Math.Max(bytes, 256), Math.Min(_chunk.Length * 2, 64 * 1024))];
        _chunkStart = 0;
        _chunkPosition = 0;
    }

    private void Flush()
    {
        if (_chunkPosition > _chunkStart)
        {
            _segments.Add(new ReadOnlyMemory<byte>(_chunk, _chunkStart, _chunkPosition - _chunkStart));
            _chunkStart = _chunkPosition;
        }
    }
}
