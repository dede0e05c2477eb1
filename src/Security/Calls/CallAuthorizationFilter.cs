using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Reflection;
using Microsoft.Extensions.Logging;
using MobileNet.Orleans.Contracts.Security;
using MobileNet.Orleans.Security.Certificates;

namespace MobileNet.Orleans.Security.Calls;

/// <summary>
/// The silo's gate for grain calls. Every call to a MobileNet grain interface must present a verified identity
/// (<see cref="CallVerifier"/>) whose role the method's <see cref="RequiresRoleAttribute"/> allows; a method without
/// the attribute is refused (fail closed). Worker-only methods (<see cref="CallerRole.Silo"/>) therefore refuse every
/// client certificate. Calls from clients to any other interface (Orleans' own, e.g. reminders) need a silo identity;
/// calls between grains and from Orleans' system targets to other interfaces pass.
/// </summary>
public sealed partial class CallAuthorizationFilter(CallVerifier verifier, ILogger<CallAuthorizationFilter> logger, IMeterFactory meters) : IIncomingGrainCallFilter
{
    private static readonly Assembly Contracts = typeof(CallerRole).Assembly;
    private static readonly ConcurrentDictionary<MethodInfo, CallerRole> Requirements = new();
    private static readonly ConcurrentDictionary<Type, bool> MobileNetGrainTypes = new();
    private readonly Counter<long> _refused = meters.Create("MobileNet.Orleans.Security").CreateCounter<long>("mobilenet.calls.refused", description: "grain calls refused by the authorization filter");

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var method = context.InterfaceMethod;
        var ours = method?.DeclaringType?.Assembly == Contracts;
        // Another interface on a MobileNet grain (IRemindable, say) is open to silos only; Orleans' own grains and
        // system targets (which clients call to learn the cluster's manifest) are left to Orleans.
        var fromClient = context.SourceId is { } source && GrainTypePrefix.IsClient(source);
        // Orleans' dashboard grains show grain state and cluster internals: its page runs in the silo (admin port,
        // admin role); a client calling them directly needs a silo identity.
        if (!ours && (!fromClient || !(IsMobileNetGrain(context.Grain) || IsOrleansDashboard(method))))
        {
            await context.Invoke();
            return;
        }

        var required = ours ? RequiredRole(method!) : CallerRole.Silo;
        if (required == CallerRole.None)
        {
            Refuse(context, "?", $"{context.InterfaceName}.{context.MethodName} declares no role and is not callable");
        }

        var (@interface, methodName, target) = CallSignature.Describe(context);
        if (!verifier.TryVerify(
                RequestContext.Get(CallSignature.CertificateKey),
                RequestContext.Get(CallSignature.TimeKey),
                RequestContext.Get(CallSignature.SignatureKey),
                @interface,
                methodName,
                target,
                out var caller,
                out var reason))
        {
            Refuse(context, "?", reason);
        }

        if (!RequiresRoleAttribute.Allows(required, caller.Role))
        {
            Refuse(
                context,
                caller.Name,
                required == CallerRole.Silo
                    ? $"{context.MethodName} is worker-only: only silos may call it, not '{caller.Name}' (role {CertificateNames.RoleName(caller.Role)})"
                    : $"'{caller.Name}' has role {CertificateNames.RoleName(caller.Role)}; {context.MethodName} needs role {CertificateNames.RoleName(required)} or higher");
        }

        await context.Invoke();
    }

    private static bool IsOrleansDashboard(MethodInfo? method) =>
        method?.DeclaringType?.Assembly.GetName().Name is { } name && name.StartsWith("Orleans.Dashboard", StringComparison.Ordinal);

    private static bool IsMobileNetGrain(object? grain) =>
        grain is not null && MobileNetGrainTypes.GetOrAdd(grain.GetType(), t => t.GetInterfaces().Any(i => i.Assembly == Contracts));

    private static CallerRole RequiredRole(MethodInfo method) =>
        Requirements.GetOrAdd(method, m => m.GetCustomAttribute<RequiresRoleAttribute>()?.Role ?? CallerRole.None);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void Refuse(IIncomingGrainCallContext context, string caller, string reason)
    {
        _refused.Add(1, new KeyValuePair<string, object?>("method", context.MethodName));
        LogRefused(logger, context.InterfaceName, context.MethodName, context.TargetId.ToString(), caller, reason);
        throw new UnauthorizedAccessException($"not allowed: {reason}");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused {Interface}.{Method} on {Target} from {Caller}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string @interface, string method, string target, string caller, string reason);
}
