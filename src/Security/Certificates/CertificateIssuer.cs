using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MobileNet.Orleans.Contracts.Security;

namespace MobileNet.Orleans.Security.Certificates;

/// <summary>
/// A small CA for local clusters and tests (ECDSA P-256, via <see cref="CertificateRequest"/>): creates the CA and
/// issues silo and client certificates into folders in the Kubernetes TLS Secret layout. Production deployments
/// issue the same shape of certificate with cert-manager or their own CA (docs/SECURITY.md).
/// </summary>
public static class CertificateIssuer
{
    public const string AuthorityKeyFile = "ca.key";

    /// <summary>Creates <c>ca.crt</c> and <c>ca.key</c> in <paramref name="directory"/>; refuses to overwrite an existing CA.</summary>
    public static X509Certificate2 CreateAuthority(string directory, string name, TimeSpan validity)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var certPath = Path.Combine(directory, CertificateNames.AuthorityFile);
        if (File.Exists(certPath))
        {
            throw new CertificateException($"'{certPath}' already exists: a CA is never replaced silently (delete the folder to start over)");
        }

        Directory.CreateDirectory(directory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={Escape(name)}, O=MobileNet.Orleans"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        var ca = request.CreateSelfSigned(now.AddMinutes(-5), now + validity);
        WritePrivate(Path.Combine(directory, AuthorityKeyFile), key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(certPath, ca.ExportCertificatePem() + "\n");
        return ca;
    }

    /// <summary>Loads a CA created by <see cref="CreateAuthority"/> (certificate and key).</summary>
    public static X509Certificate2 LoadAuthority(string directory)
    {
        var certPath = Path.Combine(directory, CertificateNames.AuthorityFile);
        var keyPath = Path.Combine(directory, AuthorityKeyFile);
        if (!File.Exists(certPath) || !File.Exists(keyPath))
        {
            throw new CertificateException($"no CA in '{directory}' ({CertificateNames.AuthorityFile} and {AuthorityKeyFile}); create one with 'mobilenet certs ca --out {directory}'");
        }

        try
        {
            return X509Certificate2.CreateFromPemFile(certPath, keyPath);
        }
        catch (CryptographicException ex)
        {
            throw new CertificateException($"cannot read the CA in '{directory}': {ex.Message}");
        }
    }

    /// <summary>
    /// Issues a certificate for <paramref name="name"/> with <paramref name="role"/> into <paramref name="directory"/>
    /// (<c>tls.crt</c>, <c>tls.key</c>, <c>ca.crt</c>). Silo certificates serve and call (server and client
    /// authentication, DNS <see cref="CertificateNames.SiloHostName"/> plus <paramref name="hostNames"/>); client
    /// certificates only call.
    /// </summary>
    public static void Issue(X509Certificate2 authority, string directory, string name, CallerRole role, TimeSpan validity, IEnumerable<string>? hostNames = null)
    {
        ArgumentNullException.ThrowIfNull(authority);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!authority.HasPrivateKey)
        {
            throw new CertificateException("the CA's private key is needed to issue certificates");
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedName($"CN={Escape(name)}, OU={CertificateNames.RoleName(role)}, O=MobileNet.Orleans");
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var usages = new OidCollection { new Oid("1.3.6.1.5.5.7.3.2") };
        if (role == CallerRole.Silo)
        {
            usages.Add(new Oid("1.3.6.1.5.5.7.3.1"));
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName(CertificateNames.SiloHostName);
            foreach (var host in hostNames ?? [])
            {
                if (IPAddress.TryParse(host, out var ip))
                {
                    san.AddIpAddress(ip);
                }
                else
                {
                    san.AddDnsName(host);
                }
            }

            request.CertificateExtensions.Add(san.Build());
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, true, false));
        var now = DateTimeOffset.UtcNow;
        var notAfter = now + validity;
        if (notAfter > authority.NotAfter)
        {
            notAfter = new DateTimeOffset(authority.NotAfter.ToUniversalTime());
        }

        using var certificate = request.Create(authority, now.AddMinutes(-5), notAfter, RandomNumberGenerator.GetBytes(16));
        Directory.CreateDirectory(directory);
        WritePrivate(Path.Combine(directory, CertificateNames.KeyFile), key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path.Combine(directory, CertificateNames.CertificateFile), certificate.ExportCertificatePem() + "\n");
        File.WriteAllText(Path.Combine(directory, CertificateNames.AuthorityFile), authority.ExportCertificatePem() + "\n");
    }

    /// <summary>Private keys are readable by their owner only.</summary>
    private static void WritePrivate(string path, string pem)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, options);
        using var writer = new StreamWriter(stream);
        writer.Write(pem + "\n");
    }

    private static string Escape(string value) =>
        value.Contains(',', StringComparison.Ordinal) || value.Contains('=', StringComparison.Ordinal) || value.Contains('"', StringComparison.Ordinal)
            ? throw new CertificateException($"name '{value}' may not contain ',', '=' or '\"'")
            : value.Trim();
}
