using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MobileNet.Orleans.Security.Certificates;

namespace MobileNet.Orleans.Security.Calls;

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
