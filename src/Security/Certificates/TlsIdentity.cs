using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MobileNet.Orleans.Contracts.Security;

namespace MobileNet.Orleans.Security.Certificates;

/// <summary>This process's certificate (with its private key), the deployment's CA, and the role the certificate carries.</summary>
public sealed class TlsIdentity : IDisposable
{
    private TlsIdentity(X509Certificate2 certificate, X509Certificate2 authority, CallerRole role)
    {
        Certificate = certificate;
        Authority = authority;
        Role = role;
        Trust = new CertificateTrust(authority);
    }

    public X509Certificate2 Certificate { get; }

    public X509Certificate2 Authority { get; }

    public CallerRole Role { get; }

    public string Name => CertificateNames.NameOf(Certificate);

    /// <summary>Validates peers against <see cref="Authority"/>.</summary>
    public CertificateTrust Trust { get; }

    /// <summary>
    /// Loads <c>tls.crt</c>, <c>tls.key</c> (PEM, PKCS#8 or EC/RSA) and <c>ca.crt</c> from <paramref name="directory"/>
    /// and checks that the certificate chains to the CA and carries a role; throws <see cref="CertificateException"/>
    /// saying what is wrong.
    /// </summary>
    public static TlsIdentity Load(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (!Directory.Exists(directory))
        {
            throw new CertificateException($"certificate folder '{directory}' does not exist");
        }

        var certPath = Path.Combine(directory, CertificateNames.CertificateFile);
        var keyPath = Path.Combine(directory, CertificateNames.KeyFile);
        var caPath = Path.Combine(directory, CertificateNames.AuthorityFile);
        foreach (var path in new[] { certPath, keyPath, caPath })
        {
            if (!File.Exists(path))
            {
                throw new CertificateException($"'{path}' is missing (a certificate folder holds {CertificateNames.CertificateFile}, {CertificateNames.KeyFile} and {CertificateNames.AuthorityFile})");
            }
        }

        X509Certificate2 certificate;
        X509Certificate2 authority;
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certPath, keyPath);
            // Re-import so the key is usable by SslStream on every platform (PEM keys are ephemeral).
            certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            authority = X509CertificateLoader.LoadCertificateFromFile(caPath);
        }
        catch (CryptographicException ex)
        {
            throw new CertificateException($"cannot read the certificate in '{directory}': {ex.Message}");
        }

        var identity = new TlsIdentity(certificate, authority, CertificateNames.RoleOf(certificate));
        if (!identity.Trust.TryValidate(certificate, out _, out var reason))
        {
            identity.Dispose();
            throw new CertificateException($"certificate '{certPath}' is not usable: {reason}");
        }

        return identity;
    }

    public void Dispose()
    {
        Certificate.Dispose();
        Authority.Dispose();
    }
}

/// <summary>A certificate file that is missing, unreadable, or not issued by the deployment's CA.</summary>
public sealed class CertificateException(string message) : Exception(message);
