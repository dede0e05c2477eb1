using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MobileNet.Orleans.Silo.Hosting;

/// <summary>Who the silo is and how it is reached (section <c>Silo</c>; env <c>Silo__SiloPort=11112</c> style).</summary>
public sealed class SiloHostOptions
{
    public const string SectionName = "Silo";

    /// <summary>Silos with the same cluster id form one cluster (the client must use the same).</summary>
    [Required, RegularExpression("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")]
    public string ClusterId { get; set; } = "mobilenet-local";

    /// <summary>Names the application's durable data (grain state, reminders); keep it across deployments.</summary>
    [Required, RegularExpression("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")]
    public string ServiceId { get; set; } = "mobilenet";

    /// <summary>Shown in job status as the silo that labeled images; default <c>{host}-{SiloPort}</c> (on Kubernetes: the pod name).</summary>
    [RegularExpression("^[A-Za-z0-9][A-Za-z0-9._:-]{0,62}$")]
    public string? Name { get; set; }

    [Range(1, 65535)]
    public int SiloPort { get; set; } = 11111;

    [Range(1, 65535)]
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The address other silos and clients use to reach this one (on Kubernetes: the pod IP).</summary>
    [Required]
    public string AdvertisedIp { get; set; } = "127.0.0.1";

    /// <summary>Port of the HTTP endpoints (health, metrics); each silo on one host needs its own.</summary>
    [Range(1, 65535)]
    public int HttpPort { get; set; } = 8080;

    /// <summary>Membership: how long a probe of another silo may take (the local cluster uses 1 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Membership: missed probes before a silo suspects another (local cluster: 2).</summary>
    [Range(1, 100)]
    public int NumMissedProbesLimit { get; set; } = 3;

    /// <summary>Membership: suspicions needed to declare a silo dead (local cluster: 1).</summary>
    [Range(1, 100)]
    public int NumVotesForDeathDeclaration { get; set; } = 2;

    public string EffectiveName => Name ?? $"{Environment.MachineName.ToLowerInvariant()}-{SiloPort}";
}

/// <summary>Rules across the <c>Silo</c> section's fields.</summary>
public sealed class SiloHostOptionsValidator : IValidateOptions<SiloHostOptions>
{
    /// <summary>Keys that moved to their owner's section; a stale one is refused rather than silently ignored.</summary>
    public static readonly IReadOnlyDictionary<string, string> MovedKeys = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["DrainTimeout"] = "Worker:DrainTimeout",
    };

    public ValidateOptionsResult Validate(string? name, SiloHostOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var ports = new[] { ("SiloPort", options.SiloPort), ("GatewayPort", options.GatewayPort), ("HttpPort", options.HttpPort) };
        foreach (var group in ports.GroupBy(p => p.Item2).Where(g => g.Count() > 1))
        {
            failures.Add($"{string.Join(" and ", group.Select(p => "Silo:" + p.Item1))} are all {group.Key}: each needs its own port");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
