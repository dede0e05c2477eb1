using Microsoft.Extensions.Time.Testing;
using MobileNet.Orleans.Contracts.Security;
using MobileNet.Orleans.Security.Calls;
using MobileNet.Orleans.Security.Certificates;

namespace MobileNet.Orleans.Security.Tests;

public sealed class CallVerifierTests : IDisposable
{
    private const string Interface = "MobileNet.Orleans.Contracts.Jobs.IJobCoordinatorGrain";
    private const string Target = "jobcoordinator/job-20261201-000000-abcdef";
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly TlsIdentity _silo = TlsIdentity.Load(TestCertificates.Shared.Silo);
    private readonly TlsIdentity _reader = TlsIdentity.Load(TestCertificates.Shared.Client(CallerRole.Reader));

    public void Dispose()
    {
        _silo.Dispose();
        _reader.Dispose();
    }

    [Fact]
    public void TryVerify_SignedCall_GivesTheSignersNameAndRole()
    {
        using var signer = new CallSigner(_reader, _time);
        var (time, signature) = signer.Sign(Interface, "GetStatusAsync", Target);

        var ok = Verifier().TryVerify(signer.Certificate, time, signature, Interface, "GetStatusAsync", Target, out var caller, out var reason);

        Assert.True(ok, reason);
        Assert.Equal(CallerRole.Reader, caller.Role);
        Assert.Equal("test-reader", caller.Name);
    }

    [Fact]
    public void TryVerify_SignatureReusedForAnotherMethodOrGrain_Refused()
    {
        using var signer = new CallSigner(_reader, _time);
        var (time, signature) = signer.Sign(Interface, "GetStatusAsync", Target);
        var verifier = Verifier();

        Assert.False(verifier.TryVerify(signer.Certificate, time, signature, Interface, "CancelAsync", Target, out _, out var method));
        Assert.False(verifier.TryVerify(signer.Certificate, time, signature, Interface, "GetStatusAsync", Target + "x", out _, out var grain));
        Assert.Contains("signature does not match", method, StringComparison.Ordinal);
        Assert.Contains("signature does not match", grain, StringComparison.Ordinal);
    }

    [Fact]
    public void TryVerify_AnotherCertificateWithoutItsKey_Refused()
    {
        // Certificates are public: presenting the silo's with a reader's signature must not make the caller a silo.
        using var signer = new CallSigner(_reader, _time);
        var (time, signature) = signer.Sign(Interface, "CompleteShardAsync", Target);

        var ok = Verifier().TryVerify(_silo.Certificate.RawData, time, signature, Interface, "CompleteShardAsync", Target, out _, out var reason);

        Assert.False(ok);
        Assert.Contains("signature does not match certificate 'test-silo'", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TryVerify_SignatureOlderThanTheWindow_Refused()
    {
        using var signer = new CallSigner(_reader, _time);
        var (time, signature) = signer.Sign(Interface, "GetStatusAsync", Target);
        _time.Advance(CallSignature.MaxClockSkew + TimeSpan.FromSeconds(1));

        var ok = Verifier().TryVerify(signer.Certificate, time, signature, Interface, "GetStatusAsync", Target, out _, out var reason);

        Assert.False(ok);
        Assert.Contains("minutes from the silo's clock", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TryVerify_NoIdentity_RefusedWithAHint()
    {
        var ok = Verifier().TryVerify(null, null, null, Interface, "GetStatusAsync", Target, out _, out var reason);

        Assert.False(ok);
        Assert.Contains("carries no client identity", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TryVerify_CertificateFromAnotherCa_Refused()
    {
        using var foreign = TlsIdentityFromOtherCa();
        using var signer = new CallSigner(foreign, _time);
        var (time, signature) = signer.Sign(Interface, "SubmitAsync", Target);

        var ok = Verifier().TryVerify(signer.Certificate, time, signature, Interface, "SubmitAsync", Target, out _, out var reason);

        Assert.False(ok);
        Assert.Contains("not issued by this deployment's CA", reason, StringComparison.Ordinal);
    }

    private CallVerifier Verifier() => new(_silo.Trust, _time);

    /// <summary>The other CA's admin, loaded against its own CA (so it loads), then checked by ours.</summary>
    private static TlsIdentity TlsIdentityFromOtherCa()
    {
        var dir = Directory.CreateTempSubdirectory("mobilenet-foreign-").FullName;
        foreach (var file in new[] { CertificateNames.CertificateFile, CertificateNames.KeyFile })
        {
            File.Copy(Path.Combine(TestCertificates.Shared.OtherAuthorityAdmin, file), Path.Combine(dir, file));
        }

        File.Copy(Path.Combine(TestCertificates.Shared.Root, "other-ca", CertificateNames.AuthorityFile), Path.Combine(dir, CertificateNames.AuthorityFile));
        try
        {
            return TlsIdentity.Load(dir);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
