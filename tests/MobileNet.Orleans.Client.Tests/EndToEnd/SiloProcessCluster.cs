using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace MobileNet.Orleans.Client.Tests.EndToEnd;

/// <summary>End-to-end test classes run one after another: each starts its own silo processes on a 2-core machine.</summary>
[CollectionDefinition(Name)]
public sealed class EndToEndCollection
{
    public const string Name = "E2E";
}

/// <summary>
/// Real silo processes (<c>dotnet mobilenet-silo.dll</c>) against the test Azurite, on free ports, with a fresh
/// ClusterId and short membership timeouts. Every process it starts is killed by PID on dispose.
/// </summary>
internal sealed class SiloProcessCluster : IAsyncDisposable
{
    private readonly List<SiloProcess> _silos = [];
    private readonly string _cacheRoot;

    public SiloProcessCluster(string storage)
    {
        Storage = storage;
        ClusterId = "e2e-" + Guid.NewGuid().ToString("N")[..12];
        _cacheRoot = Path.Combine(Path.GetTempPath(), "mobilenet-e2e-" + ClusterId);
    }

    public string Storage { get; }

    public string ClusterId { get; }

    public IReadOnlyList<SiloProcess> Silos => _silos;

    /// <summary>The silo built beside this test assembly's configuration (the test project builds it).</summary>
    public static string SiloDll
    {
        get
        {
#if DEBUG
            const string configuration = "Debug";
#else
            const string configuration = "Release";
#endif
            return Path.Combine(RepositoryRoot, "src", "Silo", "bin", configuration, "net10.0", "linux-x64", "mobilenet-silo.dll");
        }
    }

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

    /// <summary>CLI arguments for storage-only commands (upload, models).</summary>
    public string[] StorageArgs => ["--storage", Storage];

    /// <summary>CLI arguments that point a command at this cluster.</summary>
    public string[] ClientArgs => ["--storage", Storage, "--cluster-id", ClusterId, "--connect-timeout", "60"];

    /// <summary>Starts <paramref name="count"/> silos at once and waits until all are active.</summary>
    public async Task StartSilosAsync(int count, CancellationToken cancellationToken = default)
    {
        var started = Enumerable.Range(0, count).Select(_ => Launch()).ToList();
        await Task.WhenAll(started.Select(s => s.WaitActiveAsync(TimeSpan.FromSeconds(90), cancellationToken)));
    }

    /// <summary>Starts one more silo and waits until its gateway accepts connections (it is then active).</summary>
    public async Task<SiloProcess> StartSiloAsync(CancellationToken cancellationToken = default)
    {
        var silo = Launch();
        await silo.WaitActiveAsync(TimeSpan.FromSeconds(90), cancellationToken);
        return silo;
    }

    private SiloProcess Launch()
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
        env["Silo__Name"] = name;
        env["Silo__SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["Silo__GatewayPort"] = gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["Silo__HttpPort"] = httpPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["Silo__AdvertisedIp"] = "127.0.0.1";
        env["Silo__ProbeTimeout"] = "00:00:03"; // Orleans 10 refuses less than 2.5 s
        env["Silo__NumMissedProbesLimit"] = "2";
        env["Silo__NumVotesForDeathDeclaration"] = "1";
        env["Silo__DrainTimeout"] = "00:00:05";
        env["Worker__CacheDirectory"] = Path.Combine(_cacheRoot, name);
        env["DOTNET_gcServer"] = "0";
        env["ASPNETCORE_ENVIRONMENT"] = "Production";
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + SiloDll);
        var silo = new SiloProcess(name, process, gatewayPort);
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
}

/// <summary>One silo process: its name in job status, its output (last lines kept for failure messages).</summary>
internal sealed class SiloProcess : IDisposable
{
    private const int KeptLines = 200;
    private readonly Queue<string> _log = new();

    public SiloProcess(string name, Process process, int gatewayPort)
    {
        Name = name;
        Process = process;
        GatewayPort = gatewayPort;
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }

    public Process Process { get; }

    public int GatewayPort { get; }

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
                Process.Kill(entireProcessTree: false);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }

    public async Task WaitExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await Process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Dispose() => Process.Dispose();

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
        }
    }
}
