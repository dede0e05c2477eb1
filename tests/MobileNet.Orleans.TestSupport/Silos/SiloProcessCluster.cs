using MobileNet.Orleans.Contracts.Security;
using MobileNet.Orleans.Testing.Networking;
using MobileNet.Orleans.Testing.Security;

namespace MobileNet.Orleans.Testing.Silos;

/// <summary>
/// Real silo processes against an Azurite, with a fresh ClusterId and ServiceId (so test clusters sharing one Azurite
/// never see each other's jobs, registry or reminders). Every process it starts is killed by PID on dispose. Used by
/// the end-to-end tests and the reliability scenarios.
/// </summary>
public sealed class SiloProcessCluster : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);
    private readonly List<SiloProcess> _silos = [];
    private readonly string _cacheRoot;
    private readonly IReadOnlyDictionary<string, string> _settings;
    private readonly string? _logDirectory;

    /// <param name="storage">Connection string given to the silos through the environment (never their command line).</param>
    /// <param name="settings">Extra configuration for every silo, as environment variables (<c>Coordinator__LeaseDuration</c> style).</param>
    /// <param name="logDirectory">When set, each silo's whole output is also written to <c>{name}.log</c> there.</param>
    public SiloProcessCluster(string storage, IReadOnlyDictionary<string, string>? settings = null, string? logDirectory = null)
    {
        Storage = storage;
        var id = Guid.NewGuid().ToString("N")[..12];
        ClusterId = "e2e-" + id;
        ServiceId = "svc-" + id;
        _settings = settings ?? new Dictionary<string, string>();
        _logDirectory = logDirectory;
        _cacheRoot = Path.Combine(Path.GetTempPath(), "mobilenet-e2e-" + ClusterId);
    }

    /// <summary>The storage connection string; may be changed before silos are started again (an Azurite restarted on other ports).</summary>
    public string Storage { get; set; }

    public string ClusterId { get; }

    public string ServiceId { get; }

    public IReadOnlyList<SiloProcess> Silos => _silos;

    /// <summary>The storage scope the silos get: what jobs of the tests may read.</summary>
    public static IReadOnlyList<string> ReadScope { get; } = ["t-*", "rel-*"];

    /// <summary>What jobs of the tests may write (their own containers and the default output container).</summary>
    public static IReadOnlyList<string> WriteScope { get; } = ["t-*", "rel-*", "mobilenet-results"];

    /// <summary>Where jobs of the tests may write tags onto source blobs (only containers made for that).</summary>
    public static IReadOnlyList<string> TagScope { get; } = ["t-tag-*"];

    /// <summary>CLI arguments for storage-only commands (upload, models).</summary>
    public string[] StorageArgs => ["--storage", Storage];

    /// <summary>CLI arguments that point a command at this cluster with an admin certificate (patient: a loaded CI machine can take a while to connect).</summary>
    public string[] ClientArgs => ["--storage", Storage, "--cluster-id", ClusterId, "--service-id", ServiceId, "--tls-dir", TestCertificates.Shared.Client(CallerRole.Admin), "--connect-timeout", "60"];

    /// <summary>
    /// CLI arguments for a client that holds no storage key: the running silos' gateways and a certificate of
    /// <paramref name="role"/>. Its storage setting points at a closed port with a made-up key, so any storage access
    /// by the CLI would fail the command.
    /// </summary>
    public string[] KeylessClientArgs(CallerRole role) =>
        ["--storage", UnreachableStorage, "--cluster-id", ClusterId, "--service-id", ServiceId, "--tls-dir", TestCertificates.Shared.Client(role), "--connect-timeout", "60",
         .. _silos.Where(s => !s.HasExited).SelectMany(s => new[] { "--gateway", $"127.0.0.1:{s.GatewayPort}" })];

    /// <summary>A storage account nobody serves (closed port, made-up key).</summary>
    public static string UnreachableStorage =>
        $"DefaultEndpointsProtocol=http;AccountName=nokey;AccountKey=bm90LWEta2V5;BlobEndpoint=http://127.0.0.1:{FreePort.Next()}/nokey;TableEndpoint=http://127.0.0.1:{FreePort.Next()}/nokey;";

    /// <summary>Starts <paramref name="count"/> silos at once and waits until all are active.</summary>
    public async Task<IReadOnlyList<SiloProcess>> StartSilosAsync(int count, CancellationToken cancellationToken = default)
    {
        var started = Enumerable.Range(0, count).Select(_ => Launch(null)).ToList();
        await Task.WhenAll(started.Select(s => s.WaitActiveAsync(ReadyTimeout, cancellationToken)));
        return started;
    }

    /// <summary>Starts one more silo (with extra settings of its own) and waits until its gateway accepts connections.</summary>
    public async Task<SiloProcess> StartSiloAsync(IReadOnlyDictionary<string, string>? settings = null, CancellationToken cancellationToken = default)
    {
        var silo = Launch(settings);
        await silo.WaitActiveAsync(ReadyTimeout, cancellationToken);
        return silo;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            silo.Kill();
        }

        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }

        try
        {
            Directory.Delete(_cacheRoot, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException)
        {
        }
    }

    private SiloProcess Launch(IReadOnlyDictionary<string, string>? settings)
    {
        var name = $"e2e-silo-{_silos.Count + 1}";
        var merged = new Dictionary<string, string>
        {
            ["Worker__DrainTimeout"] = "00:00:05",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
        };
        foreach (var (entry, position) in TagScope.Select((e, i) => (e, i)))
        {
            merged[$"StorageScope__Tag__{position.ToString(System.Globalization.CultureInfo.InvariantCulture)}"] = entry;
        }

        foreach (var (key, value) in _settings.Concat(settings ?? new Dictionary<string, string>()))
        {
            merged[key] = value;
        }

        var silo = SiloProcess.Start(new SiloLaunch(Storage, ClusterId, name)
        {
            ServiceId = ServiceId,
            ReadScope = ReadScope,
            WriteScope = WriteScope,
            CacheDirectory = Path.Combine(_cacheRoot, name),
            LogFile = _logDirectory is null ? null : Path.Combine(_logDirectory, name + ".log"),
            Settings = merged,
        });
        _silos.Add(silo);
        return silo;
    }
}
