using MobileNet.Orleans.Grains.Diagnostics;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace MobileNet.Orleans.Silo.Hosting;

/// <summary>
/// OpenTelemetry metrics with a Prometheus scrape endpoint (<c>/metrics</c> on the silo's HTTP port): the
/// <c>MobileNet.Orleans</c> meter (images labeled, errors, shard latency, pending images, model load time), Orleans'
/// own <c>Microsoft.Orleans</c> meter, and the .NET runtime's.
/// </summary>
public static class TelemetryExtensions
{
    public const string MetricsPath = "/metrics";
    public const string OrleansMeterName = "Microsoft.Orleans";

    // Shards take seconds to minutes and models load in well under a minute: the SDK's default buckets
    // (0 to 10,000, meant for milliseconds) would put nearly everything in the first two.
    private static readonly double[] SecondsBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500];

    public static IServiceCollection AddSiloTelemetry(this IServiceCollection services, string siloName)
    {
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("mobilenet-silo", serviceInstanceId: siloName))
            .WithMetrics(metrics => metrics
                .AddMeter(JobMetrics.MeterName, OrleansMeterName, "System.Runtime")
                .AddView("mobilenet.shard.duration", new ExplicitBucketHistogramConfiguration { Boundaries = SecondsBuckets })
                .AddView("mobilenet.model.load.duration", new ExplicitBucketHistogramConfiguration { Boundaries = SecondsBuckets })
                .AddPrometheusExporter());
        return services;
    }

    public static WebApplication MapSiloMetricsEndpoint(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPrometheusScrapingEndpoint(MetricsPath);
        return app;
    }
}
