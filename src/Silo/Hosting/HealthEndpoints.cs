using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using MobileNet.Orleans.Grains.Workers;

namespace MobileNet.Orleans.Silo.Hosting;

/// <summary>
/// The silo's health endpoints on its HTTP port, for Kubernetes probes:
/// <c>/health/live</c> answers while the process serves requests and depends on nothing outside it (a storage
/// outage must not get every silo restarted); <c>/health/ready</c> answers 200 once this silo is Active in the
/// cluster's membership, its worker is not draining and its model cache directory is writable, else 503.
/// </summary>
public static class HealthEndpoints
{
    public const string LivePath = "/health/live";
    public const string ReadyPath = "/health/ready";

    private const string ReadyTag = "ready";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static IServiceCollection AddSiloHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<ClusterMembershipHealthCheck>("cluster-membership", tags: [ReadyTag])
            .AddCheck<WorkerDrainHealthCheck>("worker", tags: [ReadyTag])
            .AddCheck<ModelCacheHealthCheck>("model-cache", tags: [ReadyTag]);
        return services;
    }

    public static WebApplication MapSiloHealthEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapHealthChecks(LivePath, new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync });
        app.MapHealthChecks(ReadyPath, new HealthCheckOptions { Predicate = r => r.Tags.Contains(ReadyTag), ResponseWriter = WriteAsync });
        return app;
    }

    /// <summary>One JSON object: overall status and each check's status and reason, for people reading probe failures.</summary>
    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                e => e.Key,
                e => new { status = e.Value.Status.ToString(), description = e.Value.Description ?? e.Value.Exception?.Message }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, Json));
    }
}

/// <summary>Ready once the membership view of this silo says Active (joined, not yet shutting down).</summary>
internal sealed class ClusterMembershipHealthCheck(IClusterMembershipService membership, ILocalSiloDetails localSilo) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var snapshot = membership.CurrentSnapshot;
        var status = snapshot.GetSiloStatus(localSilo.SiloAddress);
        return Task.FromResult(status == SiloStatus.Active
            ? HealthCheckResult.Healthy($"silo {localSilo.Name} is Active (membership version {snapshot.Version.Value})")
            : HealthCheckResult.Unhealthy($"silo {localSilo.Name} is {status} in the cluster's membership, not Active"));
    }
}

/// <summary>Not ready while draining on shutdown: the silo takes no new shards and is about to leave.</summary>
internal sealed class WorkerDrainHealthCheck(ShardWorkerService worker) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(worker.IsDraining
            ? HealthCheckResult.Unhealthy($"draining: {worker.RunningShards} shard(s) finishing or being handed back")
            : HealthCheckResult.Healthy($"{worker.RunningShards}/{worker.Slots} slots busy"));
}

/// <summary>Ready only if a model can be cached: the directory exists (or can be made) and a file can be written there.</summary>
internal sealed class ModelCacheHealthCheck(IOptions<WorkerOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var directory = options.Value.CacheDirectory;
        var probe = Path.Combine(directory, $".health-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(directory);
            await File.WriteAllBytesAsync(probe, [1], cancellationToken);
            File.Delete(probe);
            return HealthCheckResult.Healthy($"model cache {directory} is writable");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            return HealthCheckResult.Unhealthy($"model cache {directory} is not writable: {ex.Message}");
        }
    }
}
