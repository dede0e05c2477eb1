using System.Security.Cryptography.X509Certificates;
using MobileNet.Orleans.Contracts.Security;

namespace MobileNet.Orleans.Security.Certificates;

/// <summary>
/// How a certificate says who it is: the role is the subject's OU (<c>OU=reader|submitter|admin|silo</c>), so any CA
/// (ours, cert-manager's <c>subject.organizationalUnits</c>, an enterprise CA) can issue it.
/// The files follow the Kubernetes TLS Secret layout: <c>tls.crt</c>, <c>tls.key</c>, <c>ca.crt</c>.
/// </summary>
public static class CertificateNames
{
    public const string CertificateFile = "tls.crt";
    public const string KeyFile = "tls.key";
    public const string AuthorityFile = "ca.crt";

    /// <summary>DNS name in every silo certificate; clients and silos ask for it (pods come and go, their IPs are not in certificates).</summary>
    public const string SiloHostName = "mobilenet-silo";

    public static string RoleName(CallerRole role) => role switch
    {
        CallerRole.Reader => "reader",
        CallerRole.Submitter => "submitter",
        CallerRole.Admin => "admin",
        CallerRole.Silo => "silo",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "not a certificate role"),
    };

    public static bool TryParseRole(string? text, out CallerRole role)
    {
        role = text?.Trim().ToLowerInvariant() switch
        {
            "reader" => CallerRole.Reader,
            "submitter" => CallerRole.Submitter,
            "admin" => CallerRole.Admin,
            "silo" => CallerRole.Silo,
            _ => CallerRole.None,
        };
        return role != CallerRole.None;
    }

    /// <summary>The single role named in the subject's OU; None when there is none or more than one.</summary>
    public static CallerRole RoleOf(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var found = CallerRole.None;
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (rdn.GetSingleElementType().Value != "2.5.4.11" || !TryParseRole(rdn.GetSingleElementValue(), out var role))
            {
                continue;
            }

            if (found != CallerRole.None && found != role)
            {
                return CallerRole.None;
            }

            found = role;
        }

        return found;
    }

    /// <summary>The subject's common name, for logs and messages.</summary>
    public static string NameOf(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var name = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        return string.IsNullOrEmpty(name) ? certificate.Subject : name;
    }
}
