using MobileNet.Orleans.Contracts.Security;
using MobileNet.Orleans.Security.Certificates;

namespace MobileNet.Orleans.Testing.Security;

/// <summary>
/// One test CA per test process, with a silo certificate and a client certificate per role (folders in the
/// tls.crt/tls.key/ca.crt layout), plus a client certificate from another CA that no test cluster trusts. Tests run
/// with TLS on, as production does. The folder is removed when the process exits.
/// </summary>
public sealed class TestCertificates
{
    private static readonly Lazy<TestCertificates> Instance = new(() => new TestCertificates(), LazyThreadSafetyMode.ExecutionAndPublication);

    private TestCertificates()
    {
        Root = Path.Combine(Path.GetTempPath(), "mobilenet-test-certs-" + Guid.NewGuid().ToString("N")[..10]);
        using (var ca = CertificateIssuer.CreateAuthority(Path.Combine(Root, "ca"), "MobileNet test CA", TimeSpan.FromDays(2)))
        using (var withKey = CertificateIssuer.LoadAuthority(Path.Combine(Root, "ca")))
        {
            CertificateIssuer.Issue(withKey, Silo, "test-silo", CallerRole.Silo, TimeSpan.FromDays(1), ["127.0.0.1"]);
            foreach (var role in new[] { CallerRole.Reader, CallerRole.Submitter, CallerRole.Admin })
            {
                CertificateIssuer.Issue(withKey, Client(role), "test-" + CertificateNames.RoleName(role), role, TimeSpan.FromDays(1));
            }
        }

        using (CertificateIssuer.CreateAuthority(Path.Combine(Root, "other-ca"), "Somebody else's CA", TimeSpan.FromDays(2)))
        using (var other = CertificateIssuer.LoadAuthority(Path.Combine(Root, "other-ca")))
        {
            CertificateIssuer.Issue(other, OtherAuthorityAdmin, "intruder", CallerRole.Admin, TimeSpan.FromDays(1));
        }

        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
            }
        };
    }

    public static TestCertificates Shared => Instance.Value;

    public string Root { get; }

    /// <summary>What silos get as Tls:CertificateDirectory.</summary>
    public string Silo => Path.Combine(Root, "silo");

    /// <summary>An admin certificate signed by a CA the clusters do not trust.</summary>
    public string OtherAuthorityAdmin => Path.Combine(Root, "other-admin");

    /// <summary>A client's --tls-dir for <paramref name="role"/>.</summary>
    public string Client(CallerRole role) => Path.Combine(Root, CertificateNames.RoleName(role));
}
