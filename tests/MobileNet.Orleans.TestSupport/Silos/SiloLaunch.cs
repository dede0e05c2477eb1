namespace MobileNet.Orleans.Testing.Silos;

/// <summary>
/// What one test silo process is started with. Everything else a test silo needs (free ports, loopback address,
/// short membership timeouts, the shared test certificates, single-line logs) is set by <see cref="SiloProcess.Start"/>.
/// </summary>
/// <param name="Storage">Connection string given through the environment (never the command line).</param>
/// <param name="ClusterId">A fresh id per test cluster, so clusters sharing one Azurite never see each other.</param>
/// <param name="Name">The silo's name in job status and logs.</param>
public sealed record SiloLaunch(string Storage, string ClusterId, string Name)
{
    /// <summary>Defaults to <see cref="ClusterId"/>: grain state, registry and reminders are per service.</summary>
    public string? ServiceId { get; init; }

    /// <summary>Containers the silo's jobs may read (the tests' containers are named t-... or rel-...).</summary>
    public IReadOnlyList<string> ReadScope { get; init; } = ["t-*"];

    /// <summary>Containers the silo's jobs may write.</summary>
    public IReadOnlyList<string> WriteScope { get; init; } = ["t-*"];

    /// <summary>The model cache; defaults to a folder of its own under the temp path.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>When set, the silo's whole output is also written there.</summary>
    public string? LogFile { get; init; }

    /// <summary>Extra configuration as environment variables (<c>Coordinator__LeaseDuration</c> style); these win.</summary>
    public IReadOnlyDictionary<string, string>? Settings { get; init; }
}
