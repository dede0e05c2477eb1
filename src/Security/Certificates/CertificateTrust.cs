using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MobileNet.Orleans.Contracts.Security;

namespace MobileNet.Orleans.Security.Certificates;

/// <summary>A certificate that chains to the deployment's CA, with the role it carries.</summary>
public sealed record TrustedCertificate(string Name, CallerRole Role, string Thumbprint, DateTimeOffset NotAfter);

/// <summary>
/// Validates certificates against one CA only (never the machine's trust store): the chain must end at that CA, be
/// within its validity, and the leaf must name exactly one role. Results are cached by the certificate's SHA-256 so a
/// grain call costs a lookup, not a chain build.
/// </summary>
public sealed class CertificateTrust(X509Certificate2 authority)
{
    private const int MaxCached = 4096;
    private readonly X509Certificate2 _authority = authority ?? throw new ArgumentNullException(nameof(authority));
    private readonly ConcurrentDictionary<string, TrustedCertificate> _cache = new(StringComparer.Ordinal);

    public bool TryValidate(X509Certificate2 certificate, out TrustedCertificate trusted, out string reason)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        trusted = null!;
        var key = certificate.GetCertHashString(HashAlgorithmName.SHA256);
        var now = DateTimeOffset.UtcNow;
        if (_cache.TryGetValue(key, out var cached))
        {
            if (cached.NotAfter > now)
            {
                trusted = cached;
                reason = "";
                return true;
            }

            _cache.TryRemove(key, out _);
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_authority);
        // A private CA publishes no revocation lists; certificates are short-lived instead (docs/SECURITY.md).
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        if (!chain.Build(certificate))
        {
            var status = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
            reason = $"not issued by this deployment's CA ({(status.Length > 0 ? status : "chain does not build")})";
            return false;
        }

        var root = chain.ChainElements[^1].Certificate;
        if (!root.RawDataMemory.Span.SequenceEqual(_authority.RawDataMemory.Span))
        {
            reason = "not issued by this deployment's CA";
            return false;
        }

        var role = CertificateNames.RoleOf(certificate);
        if (role == CallerRole.None)
        {
            reason = $"'{certificate.Subject}' names no role (OU=reader, submitter, admin or silo)";
            return false;
        }

        trusted = new TrustedCertificate(CertificateNames.NameOf(certificate), role, key, new DateTimeOffset(certificate.NotAfter.ToUniversalTime()));
        if (_cache.Count >= MaxCached)
        {
            _cache.Clear();
        }

        _cache[key] = trusted;
        reason = "";
        return true;
    }
}
