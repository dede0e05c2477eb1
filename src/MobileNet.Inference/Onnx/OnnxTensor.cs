using System.Buffers.Binary;

namespace MobileNet.Inference.Onnx;

/// <summary>
/// TensorProto: a constant tensor (initializer or attribute value). Data lives either in <see cref="RawData"/>
/// (little-endian, the usual case) or in one of the typed repeated fields.
/// </summary>
public sealed class OnnxTensor
{
    public string Name { get; set; } = "";

    public OnnxDataType DataType { get; set; }

    public long[] Dims { get; set; } = [];

    public string DocString { get; set; } = "";

    /// <summary>True when the file set raw_data (even to zero bytes).</summary>
    public bool HasRawData { get; set; }

    public ReadOnlyMemory<byte> RawData { get; set; }

    public float[] FloatData { get; set; } = [];

    public int[] Int32Data { get; set; } = [];

    public long[] Int64Data { get; set; } = [];

    public double[] DoubleData { get; set; } = [];

    public ulong[] UInt64Data { get; set; } = [];

    public List<ReadOnlyMemory<byte>> StringData { get; } = [];

    /// <summary>data_location = EXTERNAL: the data lives in another file named by <see cref="ExternalData"/>.</summary>
    public bool IsExternal { get; set; }

    public List<KeyValuePair<string, string>> ExternalData { get; } = [];

    /// <summary>Number of elements the dims describe (1 for a scalar).</summary>
    /// <exception cref="OnnxFormatException">A dimension is negative or the product overflows.</exception>
    public long ElementCount
    {
        get
        {
            long count = 1;
            foreach (var d in Dims)
            {
                if (d < 0)
                {
                    throw new OnnxFormatException($"tensor '{Name}' has a negative dimension ({d})");
                }

                try
                {
                    count = checked(count * d);
                }
                catch (OverflowException ex)
                {
                    throw new OnnxFormatException($"tensor '{Name}' has dimensions whose product overflows", ex);
                }
            }

            return count;
        }
    }

    /// <summary>True when the tensor carries data for every element, in raw_data or a typed field, or externally.</summary>
    public bool HasData => IsExternal || HasRawData || FloatData.Length > 0 || Int32Data.Length > 0
        || Int64Data.Length > 0 || DoubleData.Length > 0 || UInt64Data.Length > 0 || StringData.Count > 0
        || ElementCount == 0;

    public static OnnxTensor FromFloats(string name, long[] dims, ReadOnlySpan<float> values)
    {
        var raw = new byte[checked(values.Length * sizeof(float))];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * sizeof(float)), values[i]);
        }

        return new OnnxTensor { Name = name, DataType = OnnxDataType.Float, Dims = dims, HasRawData = true, RawData = raw };
    }

    public static OnnxTensor FromInt64s(string name, long[] dims, ReadOnlySpan<long> values)
    {
        var raw = new byte[checked(values.Length * sizeof(long))];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * sizeof(long)), values[i]);
        }

        return new OnnxTensor { Name = name, DataType = OnnxDataType.Int64, Dims = dims, HasRawData = true, RawData = raw };
    }

    /// <summary>
    /// The values as integers, for small int64/int32 (and friends) tensors that hold shapes and axes; null when the
    /// tensor is not an integer tensor, is external, has more than <paramref name="maxElements"/> elements, or its
    /// data does not match its dims.
    /// </summary>
    public long[]? TryGetIntegers(int maxElements = 4096)
    {
        long count;
        try
        {
            count = ElementCount;
        }
        catch (OnnxFormatException)
        {
            return null;
        }

        if (IsExternal || count > maxElements)
        {
            return null;
        }

        var n = (int)count;
        var result = new long[n];
        if (HasRawData)
        {
            var bytes = RawData.Span;
            var width = DataType switch
            {
                OnnxDataType.Int64 or OnnxDataType.UInt64 => 8,
                OnnxDataType.Int32 or OnnxDataType.UInt32 => 4,
                OnnxDataType.Int16 or OnnxDataType.UInt16 => 2,
                OnnxDataType.Int8 or OnnxDataType.UInt8 or OnnxDataType.Bool => 1,
                _ => 0,
            };
            if (width == 0 || bytes.Length != (long)n * width)
            {
                return null;
            }

            for (var i = 0; i < n; i++)
            {
                var s = bytes.Slice(i * width, width);
                result[i] = DataType switch
                {
                    OnnxDataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(s),
                    OnnxDataType.UInt64 => (long)BinaryPrimitives.ReadUInt64LittleEndian(s),
                    OnnxDataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(s),
                    OnnxDataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(s),
                    OnnxDataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(s),
                    OnnxDataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(s),
                    OnnxDataType.Int8 => (sbyte)s[0],
                    _ => s[0],
                };
            }

            return result;
        }

        switch (DataType)
        {
            case OnnxDataType.Int64 when Int64Data.Length == n:
                return [.. Int64Data];
            case OnnxDataType.UInt64 when UInt64Data.Length == n:
                return [.. UInt64Data.Select(v => (long)v)];
            case OnnxDataType.Int32 or OnnxDataType.Int16 or OnnxDataType.Int8 or OnnxDataType.UInt16 or OnnxDataType.UInt8
                or OnnxDataType.Bool when Int32Data.Length == n:
                return [.. Int32Data.Select(v => (long)v)];
            default:
                return n == 0 ? result : null;
        }
    }
}
