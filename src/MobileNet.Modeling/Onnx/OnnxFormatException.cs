namespace MobileNet.Modeling.Onnx;

/// <summary>The bytes are not a well-formed ONNX model (truncated, corrupt, or not ONNX at all).</summary>
public sealed class OnnxFormatException : Exception
{
    public OnnxFormatException(string message)
        : base(message)
    {
    }

    public OnnxFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public OnnxFormatException()
    {
    }
}
