using System.Buffers.Binary;
using System.Text;

namespace MobileNet.Inference.Onnx;

/// <summary>
/// Reads protocol-buffer wire format from untrusted bytes: every length is checked against what remains, varints are
/// capped at ten bytes, and every read consumes at least one byte, so malformed input fails fast with an
/// <see cref="OnnxFormatException"/> naming the message and byte offset instead of crashing or looping.
/// </summary>
internal struct ProtoReader
{
    private readonly ReadOnlyMemory<byte> _buffer;
    private readonly long _baseOffset;
    private readonly string _message;
    private int _position;

    public ProtoReader(ReadOnlyMemory<byte> buffer, string message, long baseOffset = 0)
    {
        _buffer = buffer;
        _message = message;
        _baseOffset = baseOffset;
        _position = 0;
    }

    public readonly bool AtEnd => _position >= _buffer.Length;

    /// <summary>Absolute offset (within the file) of the next byte, for error messages.</summary>
    public readonly long Offset => _baseOffset + _position;

    public readonly string Message => _message;

    public bool TryReadTag(out int field, out ProtoWireType wireType)
    {
        if (AtEnd)
        {
            field = 0;
            wireType = default;
            return false;
        }

        var start = Offset;
        var tag = ReadVarint();
        if (tag > uint.MaxValue)
        {
            throw Error($"field tag {tag} at offset {start} is out of range");
        }

        field = (int)(tag >> 3);
        wireType = (ProtoWireType)(tag & 7);
        if (field == 0)
        {
            throw Error($"field number 0 at offset {start} (not protocol-buffer data)");
        }

        if ((int)wireType > 5)
        {
            throw Error($"invalid wire type {(int)wireType} for field {field} at offset {start}");
        }

        return true;
    }

    public ulong ReadVarint()
    {
        var span = _buffer.Span;
        ulong result = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (_position >= span.Length)
            {
                throw Error($"truncated varint at offset {Offset}");
            }

            var b = span[_position++];
            if (shift == 63 && b > 1)
            {
                throw Error($"varint longer than 64 bits at offset {Offset - 1}");
            }

            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }

        throw Error($"varint longer than ten bytes at offset {Offset}");
    }

    public long ReadInt64() => (long)ReadVarint();

    /// <summary>int32 and enum fields: negative values are sign-extended to ten bytes on the wire.</summary>
    public int ReadInt32() => unchecked((int)ReadVarint());

    public float ReadFloat() => BinaryPrimitives.ReadSingleLittleEndian(ReadFixed(4));

    public double ReadDouble() => BinaryPrimitives.ReadDoubleLittleEndian(ReadFixed(8));

    public ulong ReadFixed64() => BinaryPrimitives.ReadUInt64LittleEndian(ReadFixed(8));

    /// <summary>Reads a length prefix and returns that many bytes, without copying.</summary>
    public ReadOnlyMemory<byte> ReadLengthDelimited(out long offset)
    {
        var at = Offset;
        var length = ReadVarint();
        var remaining = _buffer.Length - _position;
        if (length > (ulong)remaining)
        {
            throw Error($"field at offset {at} declares {length} bytes but only {remaining} remain (truncated or corrupt file)");
        }

        offset = Offset;
        var slice = _buffer.Slice(_position, (int)length);
        _position += (int)length;
        return slice;
    }

    public string ReadString() => Encoding.UTF8.GetString(ReadLengthDelimited(out _).Span);

    /// <summary>A reader over a nested message, reporting offsets relative to the whole file.</summary>
    public ProtoReader ReadMessage(string message)
    {
        var bytes = ReadLengthDelimited(out var offset);
        return new ProtoReader(bytes, message, offset);
    }

    public void Skip(int field, ProtoWireType wireType)
    {
        switch (wireType)
        {
            case ProtoWireType.Varint:
                ReadVarint();
                break;
            case ProtoWireType.Fixed64:
                ReadFixed(8);
                break;
            case ProtoWireType.Fixed32:
                ReadFixed(4);
                break;
            case ProtoWireType.LengthDelimited:
                ReadLengthDelimited(out _);
                break;
            default:
                // Groups are a proto2 relic ONNX never uses; refusing them keeps skipping bounded and simple.
                throw Error($"unsupported wire type {(int)wireType} (group) for field {field} at offset {Offset}");
        }
    }

    public readonly OnnxFormatException Error(string detail) => new($"invalid ONNX file: {_message}: {detail}");

    /// <summary>Throws unless a known field arrived with the wire type the schema gives it.</summary>
    public readonly void Expect(int field, ProtoWireType actual, ProtoWireType expected)
    {
        if (actual != expected)
        {
            throw Error($"field {field} has wire type {(int)actual}, expected {(int)expected} (offset {Offset})");
        }
    }

    private ReadOnlySpan<byte> ReadFixed(int size)
    {
        if (_buffer.Length - _position < size)
        {
            throw Error($"truncated {size}-byte value at offset {Offset}");
        }

        var span = _buffer.Span.Slice(_position, size);
        _position += size;
        return span;
    }
}
