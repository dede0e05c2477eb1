using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using CliWrap;
using MobileNet.Orleans.Testing.Networking;
using MobileNet.Orleans.Testing.Processes;
using MobileNet.Orleans.Testing.Security;

namespace MobileNet.Orleans.Testing.Silos;

/// <summary>
/// One real silo process (the built <c>mobilenet-silo.dll</c>) on free loopback ports with short membership timeouts:
/// its output (timestamped lines), its HTTP port, and stop by PID (SIGKILL, or SIGTERM as the kubelet sends).
/// Disposing kills it if it still runs.
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);
    private readonly ManagedProcess _process;

    private SiloProcess(ManagedProcess process, int siloPort, int gatewayPort, int httpPort)
    {
        _process = process;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
        HttpPort = httpPort;
        // With TLS on (as here) the HTTP port serves HTTPS with the silo's certificate from the test CA.
        Http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, certificate, _, _) => certificate is not null && IssuedByTestCa(certificate) })
        {
            BaseAddress = new Uri($"https://127.0.0.1:{httpPort}"),
            Timeout = TimeSpan.FromSeconds(10),
        };
    }

    public string Name => _process.Name;

    public int Id => _process.Id;

    public int SiloPort { get; }

    public int GatewayPort { get; }

    public int HttpPort { get; }

    /// <summary>A client of the silo's HTTP port (health, metrics).</summary>
    public HttpClient Http { get; }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>The test stopped this silo on purpose; any other exit is a crash.</summary>
    public bool StoppedByTest => _process.StoppedByTest;

    public IReadOnlyList<(DateTimeOffset At, string Line)> Lines => _process.Lines;

    public string LogTail => _process.LogTail;

    public string Output => _process.Output;

    /// <summary>Starts a silo; it is not ready yet (<see cref="WaitActiveAsync"/>, <see cref="WaitForStatusAsync"/>).</summary>
    public static SiloProcess Start(SiloLaunch launch)
    {
        if (!File.Exists(RepositoryLayout.SiloDll))
        {
            throw new FileNotFoundException($"the silo is not built at {RepositoryLayout.SiloDll}: build the solution (or the test project, which builds it) first", RepositoryLayout.SiloDll);
        }

        var (siloPort, gatewayPort, httpPort) = (FreePort.Next(), FreePort.Next(), FreePort.Next());
        var env = new Dictionary<string, string?>
        {
            ["MOBILENET_STORAGE"] = launch.Storage,
            ["Silo__ClusterId"] = launch.ClusterId,
            ["Silo__ServiceId"] = launch.ServiceId ?? launch.ClusterId,
            ["Silo__Name"] = launch.Name,
            ["Silo__AdvertisedIp"] = "127.0.0.1",
            ["Silo__SiloPort"] = Port(siloPort),
            ["Silo__GatewayPort"] = Port(gatewayPort),
            ["Silo__HttpPort"] = Port(httpPort),
            ["Silo__ProbeTimeout"] = "00:00:03", // Orleans 10 refuses less than 2.5 s
            ["Silo__NumMissedProbesLimit"] = "2",
            ["Silo__NumVotesForDeathDeclaration"] = "1",
            // After a whole-cluster kill nobody declares the old silos dead: new ones wait until their heartbeats are stale.
            ["Membership__IAmAliveTablePublishTimeout"] = "00:00:03",
            ["Membership__NumMissedTableIAmAliveLimit"] = "2",
            ["Worker__CacheDirectory"] = launch.CacheDirectory ?? Path.Combine(Path.GetTempPath(), $"mobilenet-silo-tests-{launch.ClusterId}-{launch.Name}"),
            ["Tls__CertificateDirectory"] = TestCertificates.Shared.Silo,
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__Console__FormatterOptions__SingleLine"] = "true",
            ["DOTNET_gcServer"] = "0",
            // Settings that would move the silo's HTTP port or environment must not leak in from the test runner.
            ["ASPNETCORE_URLS"] = null,
            ["ASPNETCORE_HTTP_PORTS"] = null,
        };
        foreach (var (entry, position) in launch.ReadScope.Select((e, i) => (e, i)))
        {
            env[$"StorageScope__Read__{Port(position)}"] = entry;
        }

        foreach (var (entry, position) in launch.WriteScope.Select((e, i) => (e, i)))
        {
            env[$"StorageScope__Write__{Port(position)}"] = entry;
        }

        foreach (var (key, value) in launch.Settings ?? new Dictionary<string, string>())
        {
            env[key] = value;
        }

        var command = CliWrap.Cli.Wrap("dotnet").WithArguments([RepositoryLayout.SiloDll]).WithWorkingDirectory(RepositoryLayout.Root).WithEnvironmentVariables(env);
        return new SiloProcess(ManagedProcess.Start(launch.Name, command, launch.LogFile), siloPort, gatewayPort, httpPort);
    }

    /// <summary>Waits until the silo's gateway accepts connections (it has joined the cluster).</summary>
    public async Task WaitActiveAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var limit = timeout ?? ReadyTimeout;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            ThrowIfExited("during start");
            if (await FreePort.AnswersAsync(GatewayPort, cancellationToken))
            {
                return;
            }

            await Task.Delay(200, cancellationToken);
        }

        throw new TimeoutException($"silo {Name} did not open its gateway within {limit.TotalSeconds} s:\n{LogTail}");
    }

    /// <summary>GET <paramref name="path"/>: status code and body, or (0, reason) while the port does not answer.</summary>
    public async Task<(int Status, string Body)> GetAsync(string path)
    {
        try
        {
            using var response = await Http.GetAsync(new Uri(path, UriKind.Relative));
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        catch (HttpRequestException ex)
        {
            return (0, ex.Message);
        }
        catch (TaskCanceledException ex)
        {
            return (0, ex.Message);
        }
    }

    /// <summary>Polls <paramref name="path"/> until it answers <paramref name="status"/>; throws with the silo's log on timeout or exit.</summary>
    public async Task<string> WaitForStatusAsync(string path, int status, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        (int Status, string Body) last = (0, "");
        while (clock.Elapsed < timeout)
        {
            ThrowIfExited($"while waiting for {path} -> {status}");
            last = await GetAsync(path);
            if (last.Status == status)
            {
                return last.Body;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"silo {Name}: {path} still answered {last.Status} '{last.Body}' after {timeout}, not {status}\n{Output}");
    }

    /// <summary>SIGKILL, by PID; returns at once.</summary>
    public void Kill() => _process.Kill();

    /// <summary>SIGTERM, by PID (what Kubernetes sends on scale-in): the silo drains and leaves. Returns once sent.</summary>
    public Task TerminateAsync() => _process.TerminateAsync();

    /// <summary>SIGTERM, then waits for the exit; returns how long that took, or throws after <paramref name="timeout"/>.</summary>
    public async Task<TimeSpan> TerminateAndWaitAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        await _process.TerminateAsync();
        if (!await _process.WaitExitAsync(timeout))
        {
            throw new TimeoutException($"silo {Name} still ran {timeout} after SIGTERM:\n{LogTail}");
        }

        return clock.Elapsed;
    }

    public Task<bool> WaitExitAsync(TimeSpan timeout) => _process.WaitExitAsync(timeout);

    /// <summary>Peak resident memory (VmHWM) in bytes while the process lives; null once it is gone.</summary>
    public long? PeakWorkingSetBytes() => _process.PeakWorkingSetBytes();

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        Http.Dispose();
    }

    /// <summary>True for a certificate the shared test CA issued (the silos' HTTPS port presents one).</summary>
    public static bool IssuedByTestCa(X509Certificate2 certificate)
    {
        using var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(TestCertificates.Shared.Silo, "ca.crt"));
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    private static string Port(int value) => value.ToString(CultureInfo.InvariantCulture);

    private void ThrowIfExited(string when)
    {
        if (HasExited)
        {
            throw new InvalidOperationException($"silo {Name} exited with code {ExitCode} {when}:\n{LogTail}");
        }
    }
}
