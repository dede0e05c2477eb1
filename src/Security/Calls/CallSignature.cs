using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using MobileNet.Orleans.Security.Certificates;

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

/// <summary>Checks a presented call identity: certificate from the CA, signature by its key, time within the window.</summary>
public sealed class CallVerifier(CertificateTrust trust, TimeProvider time)
{
    private const int MaxCached = 4096;
    private readonly ConcurrentDictionary<string, (TrustedCertificate Trusted, ECDsa Key)> _certificates = new(StringComparer.Ordinal);

    public bool TryVerify(object? certificate, object? unixMilliseconds, object? signature, string interfaceName, string methodName, string target, out TrustedCertificate caller, out string reason)
    {
        caller = null!;
        if (certificate is not byte[] der || unixMilliseconds is not long at || signature is not byte[] sig)
        {
            reason = "the call carries no client identity (connect with a certificate from this deployment's CA)";
            return false;
        }

        var now = time.GetUtcNow();
        var signedAt = DateTimeOffset.FromUnixTimeMilliseconds(at);
        if ((now - signedAt).Duration() > CallSignature.MaxClockSkew)
        {
            reason = $"the call was signed at {signedAt:u}, more than {CallSignature.MaxClockSkew.TotalMinutes:0} minutes from the silo's clock";
            return false;
        }

        if (!TryTrust(der, out var entry, out reason))
        {
            return false;
        }

        if (entry.Trusted.NotAfter <= now)
        {
            reason = $"certificate '{entry.Trusted.Name}' expired at {entry.Trusted.NotAfter:u}";
            return false;
        }

        if (!entry.Key.VerifyData(CallSignature.Payload(at, interfaceName, methodName, target), sig, HashAlgorithmName.SHA256))
        {
            reason = $"the call's signature does not match certificate '{entry.Trusted.Name}'";
            return false;
        }

        caller = entry.Trusted;
        return true;
    }

    private bool TryTrust(byte[] der, out (TrustedCertificate Trusted, ECDsa Key) entry, out string reason)
    {
        var key = Convert.ToHexString(SHA256.HashData(der));
        if (_certificates.TryGetValue(key, out entry))
        {
            reason = "";
            return true;
        }

        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadCertificate(der);
        }
        catch (CryptographicException)
        {
            reason = "the call's certificate cannot be read";
            return false;
        }

        using (certificate)
        {
            if (!trust.TryValidate(certificate, out var trusted, out reason))
            {
                return false;
            }

            var publicKey = certificate.GetECDsaPublicKey();
            if (publicKey is null)
            {
                reason = $"certificate '{trusted.Name}' has no ECDSA key";
                return false;
            }

            if (_certificates.Count >= MaxCached)
            {
                _certificates.Clear();
            }

            entry = (trusted, publicKey);
            _certificates[key] = entry;
            return true;
        }
    }
}
