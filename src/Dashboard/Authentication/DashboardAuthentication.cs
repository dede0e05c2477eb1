using System.Security.Claims;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Certificate;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using MobileNet.Orleans.Contracts.Security;
using MobileNet.Orleans.Security.Certificates;

namespace MobileNet.Orleans.Dashboard.Authentication;

/// <summary>
/// Who may open the dashboard. Two ways in, both giving a role: a client certificate from the deployment's CA (the
/// same certificates the CLI uses; the role is the subject's OU), checked by ASP.NET Core's certificate
/// authentication against that CA only; or a token (<see cref="TokenAuthenticationHandler"/>: an
/// <c>Authorization: Bearer</c> header, or the session cookie the sign-in form sets). Readers and up see the
/// dashboard; admins (and silo certificates) also see Orleans' dashboard.
/// </summary>
public static class DashboardAuthentication
{
    public const string Scheme = "mobilenet-dashboard";
    public const string ReaderPolicy = "mobilenet-dashboard-reader";
    public const string AdminPolicy = "mobilenet-dashboard-admin";

    public static IServiceCollection AddDashboardAuthentication(this IServiceCollection services, TlsIdentity? identity)
    {
        var authentication = services.AddAuthentication(Scheme)
            .AddPolicyScheme(Scheme, "certificate or token", o => o.ForwardDefaultSelector = context =>
                identity is not null && context.Connection.ClientCertificate is not null
                    ? CertificateAuthenticationDefaults.AuthenticationScheme
                    : TokenAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, TokenAuthenticationHandler>(TokenAuthenticationHandler.SchemeName, _ => { });
        if (identity is not null)
        {
            authentication.AddCertificate(o =>
            {
                o.AllowedCertificateTypes = CertificateTypes.Chained;
                o.ChainTrustValidationMode = X509ChainTrustMode.CustomRootTrust;
                o.CustomTrustStore = [identity.Authority];
                // A private CA publishes no revocation lists (docs/SECURITY.md): certificates are short-lived instead.
                o.RevocationMode = X509RevocationMode.NoCheck;
                o.ValidateCertificateUse = true;
                o.Events = new CertificateAuthenticationEvents
                {
                    OnCertificateValidated = context =>
                    {
                        var role = CertificateNames.RoleOf(context.ClientCertificate);
                        if (role == CallerRole.None)
                        {
                            context.Fail($"'{context.ClientCertificate.Subject}' names no role (OU=reader, submitter, admin or silo)");
                            return Task.CompletedTask;
                        }

                        context.Principal = Principal(CertificateNames.NameOf(context.ClientCertificate), role, CertificateAuthenticationDefaults.AuthenticationScheme);
                        context.Success();
                        return Task.CompletedTask;
                    },
                };
            }).AddCertificateCache();
        }

        services.AddAuthorizationBuilder()
            .AddPolicy(ReaderPolicy, p => p.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser().RequireRole(RoleNames(CallerRole.Reader)))
            .AddPolicy(AdminPolicy, p => p.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser().RequireRole(RoleNames(CallerRole.Admin)));
        return services;
    }

    /// <summary>
    /// HTTPS with the silo's certificate; a client certificate is asked for but not required (health probes and
    /// browsers with a token have none), and one that is presented must come from the deployment's CA.
    /// </summary>
    public static void UseDashboardHttps(this ListenOptions listen, TlsIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(listen);
        ArgumentNullException.ThrowIfNull(identity);
        listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = identity.Certificate,
            ClientCertificateMode = ClientCertificateMode.AllowCertificate,
            ClientCertificateValidation = (certificate, _, _) => identity.Trust.TryValidate(certificate, out _, out _),
        });
    }

    internal static ClaimsPrincipal Principal(string name, CallerRole role, string scheme) =>
        new(new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, name), new Claim(ClaimTypes.Role, DashboardRoleName(role))],
            scheme));

    /// <summary>A silo certificate may do everything, so it counts as admin here.</summary>
    internal static string DashboardRoleName(CallerRole role) => role == CallerRole.Silo ? "admin" : CertificateNames.RoleName(role);

    /// <summary>The role names that hold at least <paramref name="least"/>.</summary>
    private static string[] RoleNames(CallerRole least) =>
        [.. new[] { CallerRole.Reader, CallerRole.Submitter, CallerRole.Admin }.Where(r => r >= least).Select(CertificateNames.RoleName)];
}
