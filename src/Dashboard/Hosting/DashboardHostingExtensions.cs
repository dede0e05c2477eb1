using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MobileNet.Orleans.Dashboard.Api;
using MobileNet.Orleans.Dashboard.Authentication;
using MobileNet.Orleans.Dashboard.Thumbnails;
using MobileNet.Orleans.Security.Certificates;
using Orleans.Dashboard;

namespace MobileNet.Orleans.Dashboard.Hosting;

/// <summary>Registers and maps the web dashboard (and Orleans' own on the admin port) on a silo.</summary>
public static class DashboardHostingExtensions
{
    /// <param name="identity">The silo's certificate and CA; null on an insecure silo (then plain HTTP, loopback only).</param>
    public static IServiceCollection AddMobileNetDashboard(this IServiceCollection services, IConfiguration configuration, TlsIdentity? identity)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<WebDashboardOptions>().Bind(configuration.GetSection(WebDashboardOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddDashboardAuthentication(identity);
        services.AddSingleton<ThumbnailService>();
        services.AddSingleton<DashboardQueries>();
        return services;
    }

    /// <summary>Reads the section now: the host needs the admin port while it is being built.</summary>
    public static WebDashboardOptions ReadDashboardOptions(this IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration.GetSection(WebDashboardOptions.SectionName).Get<WebDashboardOptions>() ?? new WebDashboardOptions();
    }

    public static WebApplication MapMobileNetDashboard(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var settings = app.Services.GetRequiredService<IOptions<WebDashboardOptions>>().Value;
        app.UseAuthentication();
        app.UseAuthorization();
        if (!settings.Enabled)
        {
            return app;
        }

        app.MapDashboardEndpoints();
        if (settings.AdminPort > 0)
        {
            var adminPort = settings.AdminPort;
            // Orleans' dashboard only on the admin port (a port of its own is easy to keep off a public load balancer).
            app.MapOrleansDashboard(DashboardPaths.Orleans)
                .RequireAuthorization(DashboardAuthentication.AdminPolicy)
                .AddEndpointFilter(async (context, next) =>
                    context.HttpContext.Connection.LocalPort == adminPort ? await next(context) : Results.NotFound());
            app.MapGet("/", (HttpContext context) => context.Connection.LocalPort == adminPort
                ? Results.Redirect(DashboardPaths.Orleans + "/")
                : Results.Redirect(DashboardPaths.Root + "/")).AllowAnonymous();
        }
        else
        {
            app.MapGet("/", () => Results.Redirect(DashboardPaths.Root + "/")).AllowAnonymous();
        }

        return app;
    }
}
