using System.ComponentModel.DataAnnotations;

namespace MobileNet.Orleans.Silo.Hosting;

/// <summary>
/// Transport security (section <c>Tls</c>; env <c>Tls__CertificateDirectory=/etc/mobilenet/tls</c>): the folder holds
/// the silo's certificate and key and the deployment's CA (<c>tls.crt</c>, <c>tls.key</c>, <c>ca.crt</c>, the
/// Kubernetes TLS Secret layout). Without it the silo refuses to start unless <see cref="Insecure"/> is set.
/// </summary>
public sealed class SiloTlsOptions : IValidatableObject
{
    public const string SectionName = "Tls";

    public string? CertificateDirectory { get; set; }

    /// <summary>Plain TCP, no client identity, no role checks: for a throwaway local experiment only.</summary>
    public bool Insecure { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var hasDirectory = !string.IsNullOrWhiteSpace(CertificateDirectory);
        if (hasDirectory == Insecure)
        {
            yield return new ValidationResult(Insecure
                ? "Tls:CertificateDirectory and Tls:Insecure=true exclude each other"
                : "Tls:CertificateDirectory is not set: give the folder with tls.crt, tls.key and ca.crt (scripts/cluster.sh creates one), or set Tls:Insecure=true for plain TCP without client identities");
        }
    }
}
