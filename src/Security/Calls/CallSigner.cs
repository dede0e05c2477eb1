using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MobileNet.Orleans.Security.Certificates;

namespace MobileNet.Orleans.Security.Calls;

/// <summary>Signs outgoing calls with this process's certificate key.</summary>
public sealed class CallSigner : IDisposable
{
    private readonly ECDsa _key;
    private readonly TimeProvider _time;

    public CallSigner(TlsIdentity identity, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(identity);
        Certificate = identity.Certificate.RawData;
        _key = identity.Certificate.GetECDsaPrivateKey() ?? throw new CertificateException($"certificate '{identity.Name}' has no ECDSA private key (the call signature needs one)");
        _time = time ?? throw new ArgumentNullException(nameof(time));
    }

    public byte[] Certificate { get; }

    public (long Time, byte[] Signature) Sign(string interfaceName, string methodName, string target)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return (now, _key.SignData(CallSignature.Payload(now, interfaceName, methodName, target), HashAlgorithmName.SHA256));
    }

    public void Dispose() => _key.Dispose();
}
