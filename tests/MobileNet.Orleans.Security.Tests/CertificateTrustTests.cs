using System.Security.Cryptography.X509Certificates;
using MobileNet.Orleans.Contracts.Security;
using MobileNet.Orleans.Security.Certificates;

namespace MobileNet.Orleans.Security.Tests;

public sealed class CertificateTrustTests
{
    private static readonly TestCertificates Certs = TestCertificates.Shared;

    [Theory]
    [InlineData(CallerRole.Reader)]
    [InlineData(CallerRole.Submitter)]
    [InlineData(CallerRole.Admin)]
    public void Load_ClientFolderFromTheCa_CarriesItsRole(CallerRole role)
    {
        using var identity = TlsIdentity.Load(Certs.Client(role));

        Assert.Equal(role, identity.Role);
        Assert.True(identity.Certificate.HasPrivateKey);
        Assert.Equal("test-" + CertificateNames.RoleName(role), identity.Name);
    }

    [Fact]
    public void TryValidate_CertificateFromAnotherCa_Refused()
    {
        using var ours = TlsIdentity.Load(Certs.Silo);
        using var foreign = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(Certs.OtherAuthorityAdmin, CertificateNames.CertificateFile));

        Assert.False(ours.Trust.TryValidate(foreign, out _, out var reason));
        Assert.Contains("not issued by this deployment's CA", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FolderWithCertificateOfAnotherCa_ThrowsSayingSo()
    {
        using var dir = new TempFolder();
        File.Copy(Path.Combine(Certs.OtherAuthorityAdmin, CertificateNames.CertificateFile), Path.Combine(dir.Path, CertificateNames.CertificateFile));
        File.Copy(Path.Combine(Certs.OtherAuthorityAdmin, CertificateNames.KeyFile), Path.Combine(dir.Path, CertificateNames.KeyFile));
        File.Copy(Path.Combine(Certs.Silo, CertificateNames.AuthorityFile), Path.Combine(dir.Path, CertificateNames.AuthorityFile));

        var error = Assert.Throws<CertificateException>(() => TlsIdentity.Load(dir.Path));

        Assert.Contains("not issued by this deployment's CA", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingKey_ThrowsNamingTheFile()
    {
        using var dir = new TempFolder();
        File.Copy(Path.Combine(Certs.Silo, CertificateNames.CertificateFile), Path.Combine(dir.Path, CertificateNames.CertificateFile));
        File.Copy(Path.Combine(Certs.Silo, CertificateNames.AuthorityFile), Path.Combine(dir.Path, CertificateNames.AuthorityFile));

        var error = Assert.Throws<CertificateException>(() => TlsIdentity.Load(dir.Path));

        Assert.Contains("tls.key' is missing", error.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Issue_KeyFiles_AreReadableByTheOwnerOnly()
    {
        if (OperatingSystem.IsWindows())
        {
            throw new SkipException("Unix file modes only");
        }

        var mode = File.GetUnixFileMode(Path.Combine(Certs.Client(CallerRole.Reader), CertificateNames.KeyFile));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
    }

    [Fact]
    public void CreateAuthority_ExistingCa_RefusesToReplaceIt()
    {
        var error = Assert.Throws<CertificateException>(() => CertificateIssuer.CreateAuthority(Path.Combine(Certs.Root, "ca"), "again", TimeSpan.FromDays(1)));

        Assert.Contains("already exists", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(CallerRole.Reader, CallerRole.Reader, true)]
    [InlineData(CallerRole.Reader, CallerRole.Admin, true)]
    [InlineData(CallerRole.Submitter, CallerRole.Reader, false)]
    [InlineData(CallerRole.Submitter, CallerRole.Submitter, true)]
    [InlineData(CallerRole.Silo, CallerRole.Admin, false)]
    [InlineData(CallerRole.Silo, CallerRole.Silo, true)]
    [InlineData(CallerRole.Submitter, CallerRole.Silo, true)]
    [InlineData(CallerRole.None, CallerRole.Silo, false)]
    [InlineData(CallerRole.Reader, CallerRole.None, false)]
    public void Allows_RoleAgainstRequirement_OnlyEqualOrHigherClientRolesAndSilos(CallerRole required, CallerRole held, bool allowed) =>
        Assert.Equal(allowed, RequiresRoleAttribute.Allows(required, held));

    internal sealed class TempFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("mobilenet-sec-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
