namespace MobileNet.Orleans.Security.Calls;

/// <summary>Presents this process's identity with every outgoing grain call (clients and silos alike).</summary>
public sealed class CallSigningFilter(CallSigner signer) : IOutgoingGrainCallFilter
{
    public Task Invoke(IOutgoingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var (@interface, method, target) = CallSignature.Describe(context);
        var (time, signature) = signer.Sign(@interface, method, target);
        // Set here, in the filter's own async flow: the caller's RequestContext is left as it was.
        RequestContext.Set(CallSignature.CertificateKey, signer.Certificate);
        RequestContext.Set(CallSignature.TimeKey, time);
        RequestContext.Set(CallSignature.SignatureKey, signature);
        return context.Invoke();
    }
}
