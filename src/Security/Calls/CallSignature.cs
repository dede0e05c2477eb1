using System.Globalization;
using System.Text;

namespace MobileNet.Orleans.Security.Calls;

/// <summary>
/// A grain call does not see the TLS connection's certificate, so the caller presents it with each call in the
/// RequestContext: its certificate, the time, and a signature (its private key) over the time, the method and the
/// target grain. The silo checks the certificate against the CA (cached), the signature and the time window, so a
/// certificate copied from somewhere (certificates are public) is useless without its key, and a signature is only
/// good for that one method on that one grain for a few minutes.
/// </summary>
public static class CallSignature
{
    public const string CertificateKey = "mobilenet.caller.cert";
    public const string TimeKey = "mobilenet.caller.time";
    public const string SignatureKey = "mobilenet.caller.sig";

    /// <summary>How far a caller's clock may be off, and how long a signature stays good.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>What a signature covers, named the same way on the calling and the receiving side.</summary>
    public static (string Interface, string Method, string Target) Describe(IGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var method = context.InterfaceMethod;
        return (method?.DeclaringType?.FullName ?? context.InterfaceName, method?.Name ?? context.MethodName, context.TargetId.ToString());
    }

    public static byte[] Payload(long unixMilliseconds, string interfaceName, string methodName, string target) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"mobilenet-call/1\n{unixMilliseconds}\n{interfaceName}\n{methodName}\n{target}"));
}
