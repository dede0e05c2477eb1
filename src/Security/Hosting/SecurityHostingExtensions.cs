using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MobileNet.Orleans.Contracts.Security;
using MobileNet.Orleans.Security.Calls;
using MobileNet.Orleans.Security.Certificates;
using Orleans.Configuration;
using Orleans.Connections.Security;
using Orleans.Hosting;

namespace MobileNet.Orleans.Security.Hosting;

/// <summary>Mutual TLS against the deployment's CA, and signed, role-checked grain calls, for silos and clients.</summary>
public static partial class SecurityHostingExtensions
{
    /// <summary>
    /// TLS on the silo port (peers must hold a silo certificate from the CA), on the gateway (clients must hold any
    /// role's certificate from the CA) and on outgoing silo connections; every incoming grain call is authorized by
    /// <see cref="CallAuthorizationFilter"/> and every outgoing one is signed with the silo's key.
    /// </summary>
    public static ISiloBuilder UseMobileNetSecurity(this ISiloBuilder silo, TlsIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(identity);
        if (identity.Role != CallerRole.Silo)
        {
            throw new CertificateException($"certificate '{identity.Name}' has role {CertificateNames.RoleName(identity.Role)}; a silo needs a silo certificate (OU=silo)");
        }

        silo.Services.AddSingleton(identity);
        silo.Services.AddSingleton(sp => new CallSigner(identity, TimeProvider.System));
        silo.Services.AddSingleton(sp => new CallVerifier(identity.Trust, TimeProvider.System));
        silo.AddIncomingGrainCallFilter<CallAuthorizationFilter>();
        silo.AddOutgoingGrainCallFilter<CallSigningFilter>();
        silo.Services.AddOptions<SiloConnectionOptions>().Configure<ILoggerFactory>((options, loggers) =>
        {
            var logger = loggers.CreateLogger(typeof(SecurityHostingExtensions).FullName!);
            options.ConfigureSiloInboundConnection(c => c.UseServerTls(Options(identity, logger, "silo port", role => role == CallerRole.Silo)));
            options.ConfigureGatewayInboundConnection(c => c.UseServerTls(Options(identity, logger, "gateway", role => role != CallerRole.None)));
            options.ConfigureSiloOutboundConnection(c => c.UseClientTls(Options(identity, logger, "silo", role => role == CallerRole.Silo)));
        });
        return silo;
    }

    /// <summary>TLS to the gateways (which must hold silo certificates from the CA), presenting <paramref name="identity"/>; every call is signed.</summary>
    public static IClientBuilder UseMobileNetSecurity(this IClientBuilder client, TlsIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(identity);
        client.Services.AddSingleton(sp => new CallSigner(identity, TimeProvider.System));
        client.AddOutgoingGrainCallFilter<CallSigningFilter>();
        client.Services.AddOptions<ClientConnectionOptions>().Configure<ILoggerFactory>((options, loggers) =>
        {
            var logger = loggers.CreateLogger(typeof(SecurityHostingExtensions).FullName!);
            options.ConfigureConnection(c => c.UseClientTls(Options(identity, logger, "gateway", role => role == CallerRole.Silo)));
        });
        return client;
    }

    private static TlsOptions Options(TlsIdentity identity, ILogger logger, string peer, Func<CallerRole, bool> allowed)
    {
        var options = new TlsOptions
        {
            LocalCertificate = identity.Certificate,
            RemoteCertificateMode = RemoteCertificateMode.RequireCertificate,
            ClientCertificateMode = RemoteCertificateMode.RequireCertificate,
            // Name checks do not apply (pods have changing IPs): the CA and the role are what is checked.
            OnAuthenticateAsClient = (_, ssl) => ssl.TargetHost = CertificateNames.SiloHostName,
        };
        options.RemoteCertificateValidation = (certificate, _, _) => Validate(identity.Trust, certificate, logger, peer, allowed);
        return options;
    }

    private static bool Validate(CertificateTrust trust, X509Certificate2 certificate, ILogger logger, string peer, Func<CallerRole, bool> allowed)
    {
        if (!trust.TryValidate(certificate, out var trusted, out var reason))
        {
            LogRefusedConnection(logger, peer, certificate.Subject, reason);
            return false;
        }

        if (!allowed(trusted.Role))
        {
            LogRefusedConnection(logger, peer, certificate.Subject, $"role {CertificateNames.RoleName(trusted.Role)} may not connect here");
            return false;
        }

        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a TLS connection ({Peer}) from '{Subject}': {Reason}")]
    private static partial void LogRefusedConnection(ILogger logger, string peer, string subject, string reason);
}
