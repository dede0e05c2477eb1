using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.Extensions.Options;
using MobileNet.Orleans.Dashboard.Authentication;
using MobileNet.Orleans.Dashboard.Hosting;
using MobileNet.Orleans.Grains;
using MobileNet.Orleans.Grains.Jobs;
using MobileNet.Orleans.Grains.Models;
using MobileNet.Orleans.Grains.Storage;
using MobileNet.Orleans.Grains.Workers;
using MobileNet.Orleans.Security.Certificates;
using MobileNet.Orleans.Security.Hosting;
using Orleans.Configuration;
using Orleans.Dashboard;

namespace MobileNet.Orleans.Silo.Hosting;

public static partial class SiloHostingExtensions
{
    /// <summary>Grain state containers (JSON blobs: no entity size limit, readable when debugging).</summary>
    public const string JobStateContainer = "mobilenet-job-state";
    public const string RegistryStateContainer = "mobilenet-registry-state";

    /// <summary>What the host allows Orleans after the drain (leave the cluster, deactivate grains); deploy/k8s grace periods cover both.</summary>
    public static readonly TimeSpan ShutdownAfterDrain = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Configures the process as a MobileNet silo: Orleans on Azure Storage (table clustering, blob grain state for
    /// "jobs" and "registry", table reminders), the job grains and the shard worker, explicit membership timeouts
    /// (<c>Silo</c> section; other Orleans membership knobs in <c>Membership</c>), and a shutdown timeout longer than the drain.
    /// </summary>
    public static WebApplicationBuilder AddMobileNetSilo(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        foreach (var (key, owner) in SiloHostOptionsValidator.MovedKeys)
        {
            if (configuration[$"{SiloHostOptions.SectionName}:{key}"] is not null)
            {
                throw new OptionsValidationException(SiloHostOptions.SectionName, typeof(SiloHostOptions), [$"{SiloHostOptions.SectionName}:{key} is now {owner} (env {owner.Replace(":", "__", StringComparison.Ordinal)}); rename the setting"]);
            }
        }

        var siloValidator = new SiloHostOptionsValidator();
        var silo = Bind<SiloHostOptions>(configuration, SiloHostOptions.SectionName, siloValidator);
        if (!IPAddress.TryParse(silo.AdvertisedIp, out var advertised))
        {
            throw new OptionsValidationException(SiloHostOptions.SectionName, typeof(SiloHostOptions), [$"Silo:AdvertisedIp '{silo.AdvertisedIp}' is not an IP address"]);
        }

        var storage = StorageSettings.FromConfiguration(configuration);
        var tls = Bind<SiloTlsOptions>(configuration, SiloTlsOptions.SectionName, null);
        TlsIdentity? identity = null;
        if (!tls.Insecure)
        {
            try
            {
                identity = TlsIdentity.Load(tls.CertificateDirectory!);
            }
            catch (CertificateException ex)
            {
                throw new OptionsValidationException(SiloTlsOptions.SectionName, typeof(SiloTlsOptions), [$"Tls:CertificateDirectory: {ex.Message}"]);
            }
        }

        builder.Services.AddOptions<SiloHostOptions>().Bind(configuration.GetSection(SiloHostOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<SiloTlsOptions>().Bind(configuration.GetSection(SiloTlsOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<SiloHostOptions>>(siloValidator);
        // The grains' options are validated on start by AddMobileNetGrains (below); the silo only binds them.
        builder.Services.AddOptions<WorkerOptions>().Bind(configuration.GetSection(WorkerOptions.SectionName));
        builder.Services.AddOptions<CoordinatorOptions>().Bind(configuration.GetSection(CoordinatorOptions.SectionName));
        builder.Services.AddOptions<ModelCacheOptions>().Bind(configuration.GetSection(ModelCacheOptions.SectionName));
        builder.Services.AddOptions<StorageScopeOptions>().Bind(configuration.GetSection(StorageScopeOptions.SectionName))
            .PostConfigure(o => o.ServiceContainers.AddRange([JobStateContainer, RegistryStateContainer]));
        // Membership timeouts are explicit: a dead silo's shards move after about ProbeTimeout x NumMissedProbesLimit.
        builder.Services.AddOptions<ClusterMembershipOptions>()
            .Bind(configuration.GetSection("Membership"))
            .Configure(o =>
            {
                o.ProbeTimeout = silo.ProbeTimeout;
                // Orleans adapts the probe timeout between these bounds and refuses one outside them (min 2.5 s).
                o.MinProbeTimeout = silo.ProbeTimeout < o.MinProbeTimeout ? silo.ProbeTimeout : o.MinProbeTimeout;
                o.MaxProbeTimeout = silo.ProbeTimeout > o.MaxProbeTimeout ? silo.ProbeTimeout : o.MaxProbeTimeout;
                o.NumMissedProbesLimit = silo.NumMissedProbesLimit;
                o.NumVotesForDeathDeclaration = silo.NumVotesForDeathDeclaration;
            });
        // SIGTERM: the worker drains first (up to Worker:DrainTimeout), then the silo leaves the cluster.
        builder.Services.AddOptions<HostOptions>().Configure<IOptions<WorkerOptions>>((host, worker) => host.ShutdownTimeout = worker.Value.DrainTimeout + ShutdownAfterDrain);
        var dashboard = configuration.ReadDashboardOptions();
        if (dashboard.AdminPort == silo.HttpPort)
        {
            throw new OptionsValidationException(WebDashboardOptions.SectionName, typeof(WebDashboardOptions), [$"Dashboard:AdminPort {dashboard.AdminPort} is the silo's HTTP port; give Orleans' dashboard a port of its own"]);
        }

        // With TLS the HTTP port (health, metrics, dashboard) and the admin port serve HTTPS with the silo's
        // certificate; client certificates from the deployment's CA are asked for, not required (probes have none).
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.ListenAnyIP(silo.HttpPort, listen => UseTls(listen, identity));
            if (dashboard.Enabled && dashboard.AdminPort > 0)
            {
                kestrel.ListenAnyIP(dashboard.AdminPort, listen => UseTls(listen, identity));
            }
        });

        builder.UseOrleans(orleans =>
        {
            orleans.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = silo.ClusterId;
                o.ServiceId = silo.ServiceId;
            });
            orleans.Configure<SiloOptions>(o => o.SiloName = silo.EffectiveName);
            orleans.ConfigureEndpoints(advertised, silo.SiloPort, silo.GatewayPort, listenOnAnyHostAddress: true);
            orleans.UseAzureStorageClustering(o => o.TableServiceClient = storage.CreateTableServiceClient());
            orleans.AddAzureBlobGrainStorage("jobs", o =>
            {
                o.BlobServiceClient = storage.CreateBlobServiceClient();
                o.ContainerName = JobStateContainer;
            });
            orleans.AddAzureBlobGrainStorage("registry", o =>
            {
                o.BlobServiceClient = storage.CreateBlobServiceClient();
                o.ContainerName = RegistryStateContainer;
            });
            orleans.UseAzureTableReminderService(o => o.TableServiceClient = storage.CreateTableServiceClient());
            if (identity is not null)
            {
                orleans.UseMobileNetSecurity(identity);
            }

            if (dashboard.Enabled && dashboard.AdminPort > 0)
            {
                // Its grain profiler runs only while someone has the page open.
                orleans.AddDashboard();
            }
        });

        // After UseOrleans: hosted services stop in reverse order, so the worker drains while the silo still runs.
        builder.Services.AddMobileNetGrains(storage.CreateBlobServiceClient);
        builder.Services.AddSiloHealthChecks().AddSiloTelemetry(silo.EffectiveName);
        builder.Services.AddMobileNetDashboard(configuration, identity);
        builder.Services.AddHostedService(sp => new StartupBanner(silo, storage.Describe(), identity?.Name, sp.GetRequiredService<ILogger<StartupBanner>>()));
        return builder;
    }

    private static void UseTls(Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions listen, TlsIdentity? identity)
    {
        if (identity is not null)
        {
            listen.UseDashboardHttps(identity);
        }
    }

    /// <summary>Binds and validates a section now (Orleans needs the values while the host is being built).</summary>
    private static T Bind<T>(IConfiguration configuration, string section, IValidateOptions<T>? rules)
        where T : class, new()
    {
        var options = configuration.GetSection(section).Get<T>() ?? new T();
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
        {
            throw new OptionsValidationException(section, typeof(T), results.Select(r => $"{section}: {r.ErrorMessage}"));
        }

        if (rules?.Validate(Options.DefaultName, options) is { Failed: true } failed)
        {
            throw new OptionsValidationException(section, typeof(T), failed.Failures);
        }

        return options;
    }

    /// <summary>Logs who the silo is and where its data lives (never the connection string).</summary>
    private sealed partial class StartupBanner(SiloHostOptions silo, string storage, string? certificate, ILogger<StartupBanner> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            LogStarted(logger, silo.EffectiveName, silo.ClusterId, silo.SiloPort, silo.GatewayPort, silo.HttpPort, storage);
            if (certificate is null)
            {
                LogInsecure(logger);
            }
            else
            {
                LogTls(logger, certificate);
            }

            return Task.CompletedTask;
        }

        [LoggerMessage(Level = LogLevel.Information, Message = "Mutual TLS on silo and gateway ports as '{Certificate}'; grain calls are signed and role-checked")]
        private static partial void LogTls(ILogger logger, string certificate);

        [LoggerMessage(Level = LogLevel.Warning, Message = "INSECURE: Tls:Insecure=true: plain TCP, any client can connect and call every method, including the worker-only ones")]
        private static partial void LogInsecure(ILogger logger);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} up in cluster {ClusterId}: silo port {SiloPort}, gateway {GatewayPort}, http {HttpPort}, storage {Storage}")]
        private static partial void LogStarted(ILogger logger, string silo, string clusterId, int siloPort, int gatewayPort, int httpPort, string storage);
    }
}
