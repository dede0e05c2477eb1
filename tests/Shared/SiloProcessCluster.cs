using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace MobileNet.Orleans.Testing;

/// <summary>
/// Real silo processes (<c>dotnet mobilenet-silo.dll</c>) against an Azurite, on free ports, with a fresh ClusterId and
/// ServiceId (so test clusters sharing one Azurite never see each other's jobs, registry or reminders) and short
/// membership timeouts. Every process it starts is killed by PID on dispose. Shared by the end-to-end tests
/// (Client.Tests) and the reliability scenarios (Reliability.Tests).
/// </summary>
internal sealed class SiloProcessCluster : IAsyncDisposable
{
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
        if (logDirectory is not null)
        {
            Directory.CreateDirectory(logDirectory);
        }
    }

    /// <summary>The storage connection string; may be changed before silos are started again (an Azurite restarted on other ports).</summary>
    public string Storage { get; set; }

    public string ClusterId { get; }

    public string ServiceId { get; }

    public IReadOnlyList<SiloProcess> Silos => _silos;

    /// <summary>The silo built beside this test assembly's configuration (the test project builds it).</summary>
    public static string SiloDll => BuiltDll(Path.Combine("src", "Silo"), "mobilenet-silo.dll");

    /// <summary>The CLI built beside this test assembly's configuration, for tests that run it as a real process.</summary>
    public static string CliDll => BuiltDll(Path.Combine("src", "Client"), "mobilenet.dll");

    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MobileNet.Orleans.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("repository root (MobileNet.Orleans.sln) not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>The storage scope the silos get: what jobs of the tests may read.</summary>
    public static IReadOnlyList<string> ReadScope { get; } = ["t-*", "rel-*"];

    /// <summary>What jobs of the tests may write (their own containers and the default output container).</summary>
    public static IReadOnlyList<string> WriteScope { get; } = ["t-*", "rel-*", "mobilenet-results"];

    /// <summary>Where jobs of the tests may write tags onto source blobs (only containers made for that).</summary>
    public static IReadOnlyList<string> TagScope { get; } = ["t-tag-*"];

    /// <summary>CLI arguments for storage-only commands (upload, models).</summary>
    public string[] StorageArgs => ["--storage", Storage];

    /// <summary>CLI arguments that point a command at this cluster with an admin certificate (patient: a loaded CI machine can take a while to connect).</summary>
    public string[] ClientArgs => ["--storage", Storage, "--cluster-id", ClusterId, "--service-id", ServiceId, "--tls-dir", TestCertificates.Shared.Client(Contracts.Security.CallerRole.Admin), "--connect-timeout", "60"];

    /// <summary>
    /// CLI arguments for a client that holds no storage key: the running silos' gateways and a certificate of
    /// <paramref name="role"/>. Its storage setting points at a closed port with a made-up key, so any storage access
    /// by the CLI would fail the command.
    /// </summary>
    public string[] KeylessClientArgs(Contracts.Security.CallerRole role) =>
        ["--storage", UnreachableStorage, "--cluster-id", ClusterId, "--service-id", ServiceId, "--tls-dir", TestCertificates.Shared.Client(role), "--connect-timeout", "60",
         .. _silos.Where(s => !s.Process.HasExited).SelectMany(s => new[] { "--gateway", $"127.0.0.1:{s.GatewayPort}" })];

    /// <summary>A storage account nobody serves (closed port, made-up key).</summary>
    public static string UnreachableStorage =>
        $"DefaultEndpointsProtocol=http;AccountName=nokey;AccountKey=bm90LWEta2V5;BlobEndpoint=http://127.0.0.1:{FreePort()}/nokey;TableEndpoint=http://127.0.0.1:{FreePort()}/nokey;";

    /// <summary>Starts <paramref name="count"/> silos at once and waits until all are active.</summary>
    public async Task<IReadOnlyList<SiloProcess>> StartSilosAsync(int count, CancellationToken cancellationToken = default)
    {
        var started = Enumerable.Range(0, count).Select(_ => Launch(null)).ToList();
        await Task.WhenAll(started.Select(s => s.WaitActiveAsync(TimeSpan.FromSeconds(90), cancellationToken)));
        return started;
    }

    /// <summary>Starts one more silo (with extra settings of its own) and waits until its gateway accepts connections.</summary>
    public async Task<SiloProcess> StartSiloAsync(IReadOnlyDictionary<string, string>? settings = null, CancellationToken cancellationToken = default)
    {
        var silo = Launch(settings);
        await silo.WaitActiveAsync(TimeSpan.FromSeconds(90), cancellationToken);
        return silo;
    }

    private SiloProcess Launch(IReadOnlyDictionary<string, string>? settings)
    {
        var index = _silos.Count + 1;
        var name = $"e2e-silo-{index}";
        var (siloPort, gatewayPort, httpPort) = (FreePort(), FreePort(), FreePort());
        var info = new ProcessStartInfo("dotnet", [SiloDll])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryRoot,
        };
        var env = info.Environment;
        env["MOBILENET_STORAGE"] = Storage;
        env["Silo__ClusterId"] = ClusterId;
        env["Silo__ServiceId"] = ServiceId;
        env["Silo__Name"] = name;
        env["Silo__SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture);
        env["Silo__GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture);
        env["Silo__HttpPort"] = httpPort.ToString(CultureInfo.InvariantCulture);
        env["Silo__AdvertisedIp"] = "127.0.0.1";
        env["Silo__ProbeTimeout"] = "00:00:03"; // Orleans 10 refuses less than 2.5 s
        env["Silo__NumMissedProbesLimit"] = "2";
        env["Silo__NumVotesForDeathDeclaration"] = "1";
        // After a whole-cluster kill nobody declares the old silos dead: new ones wait until their heartbeats are stale.
        env["Membership__IAmAliveTablePublishTimeout"] = "00:00:03";
        env["Membership__NumMissedTableIAmAliveLimit"] = "2";
        env["Silo__DrainTimeout"] = "00:00:05";
        env["Worker__CacheDirectory"] = Path.Combine(_cacheRoot, name);
        // Where the tests' jobs read and write: their own containers (t-..., rel-...) and the default output container.
        foreach (var (entry, position) in ReadScope.Select((e, i) => (e, i)))
        {
            env[$"StorageScope__Read__{position}"] = entry;
        }

        foreach (var (entry, position) in WriteScope.Select((e, i) => (e, i)))
        {
            env[$"StorageScope__Write__{position}"] = entry;
        }

        foreach (var (entry, position) in TagScope.Select((e, i) => (e, i)))
        {
            env[$"StorageScope__Tag__{position}"] = entry;
        }

        env["Tls__CertificateDirectory"] = TestCertificates.Shared.Silo;
        env["DOTNET_gcServer"] = "0";
        env["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in _settings.Concat(settings ?? new Dictionary<string, string>()))
        {
            env[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + SiloDll);
        var log = _logDirectory is null ? null : Path.Combine(_logDirectory, name + ".log");
        var silo = new SiloProcess(name, process, siloPort, gatewayPort, log);
        _silos.Add(silo);
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
            await silo.WaitExitAsync(TimeSpan.FromSeconds(10));
            silo.Dispose();
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

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string BuiltDll(string project, string dll)
    {
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        return Path.Combine(RepositoryRoot, project, "bin", configuration, "net10.0", "linux-x64", dll);
    }
}

/// <summary>One silo process: its name in job status, its ports, its output (last lines kept for failure messages; every line timestamped for the tests that read it).</summary>
internal sealed class SiloProcess : IDisposable
{
    private const int KeptLines = 200;
    private readonly Queue<string> _log = new();
    private readonly List<(DateTimeOffset At, string Line)> _lines = [];
    private readonly StreamWriter? _file;

    public SiloProcess(string name, Process process, int siloPort, int gatewayPort, string? logFile = null)
    {
        Name = name;
        Process = process;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
        if (logFile is not null)
        {
            _file = new StreamWriter(logFile, append: true) { AutoFlush = true };
        }

        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }

    public Process Process { get; }

    public int SiloPort { get; }

    public int GatewayPort { get; }

    /// <summary>The test stopped this silo on purpose (SIGKILL or SIGTERM); any other exit is a crash.</summary>
    public bool StoppedByTest { get; private set; }

    public string LogTail
    {
        get
        {
            lock (_log)
            {
                return string.Join('\n', _log);
            }
        }
    }

    /// <summary>Every line the silo wrote so far, with the time it arrived.</summary>
    public IReadOnlyList<(DateTimeOffset At, string Line)> Lines
    {
        get
        {
            lock (_log)
            {
                return [.. _lines];
            }
        }
    }

    public async Task WaitActiveAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (Process.HasExited)
            {
                throw new InvalidOperationException($"silo {Name} exited with code {Process.ExitCode} during start:\n{LogTail}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, GatewayPort, cancellationToken);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(200, cancellationToken);
            }
        }

        throw new TimeoutException($"silo {Name} did not open its gateway within {timeout.TotalSeconds} s:\n{LogTail}");
    }

    /// <summary>SIGKILL, by PID.</summary>
    public void Kill()
    {
        try
        {
            if (!Process.HasExited)
            {
                StoppedByTest = true;
                Process.Kill(entireProcessTree: false);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>SIGTERM, by PID (what Kubernetes sends on scale-in): the silo drains and leaves.</summary>
    public void Terminate()
    {
        if (Process.HasExited)
        {
            return;
        }

        StoppedByTest = true;
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", Process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })
            ?? throw new InvalidOperationException("could not run kill");
        kill.WaitForExit();
    }

    public async Task<bool> WaitExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await Process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Peak resident memory (VmHWM) in bytes while the process lives; null when it cannot be read.</summary>
    public long? PeakWorkingSetBytes()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{Process.Id}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    var kb = line["VmHWM:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }

    public void Dispose()
    {
        Process.Dispose();
        lock (_log)
        {
            _file?.Dispose();
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.Enqueue(line);
            while (_log.Count > KeptLines)
            {
                _log.Dequeue();
            }

            _lines.Add((DateTimeOffset.UtcNow, line));
            try
            {
                _file?.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
