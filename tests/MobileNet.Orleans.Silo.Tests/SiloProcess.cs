using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;

namespace MobileNet.Orleans.Silo.Tests;

/// <summary>
/// One real silo process (the built <c>mobilenet-silo.dll</c>) on free loopback ports, with short membership timeouts.
/// Disposing kills it if it still runs; its console output is kept for assertions and failure messages.
/// </summary>
internal sealed class SiloProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();
    private readonly HttpClient http;

    private SiloProcess(Process process, string name, int siloPort, int gatewayPort, int httpPort)
    {
        this.process = process;
        Name = name;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
        HttpPort = httpPort;
        // With TLS on (as here) the HTTP port serves HTTPS with the silo's certificate from the test CA.
        http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, certificate, _, _) => certificate is not null && IssuedByTestCa(certificate) })
        {
            BaseAddress = new Uri($"https://127.0.0.1:{httpPort}"),
            Timeout = TimeSpan.FromSeconds(10),
        };
    }

    public string Name { get; }

    private static bool IssuedByTestCa(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate)
    {
        using var ca = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(
            Path.Combine(MobileNet.Orleans.Testing.TestCertificates.Shared.Silo, "ca.crt"));
        using var chain = new System.Security.Cryptography.X509Certificates.X509Chain();
        chain.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    public int SiloPort { get; }

    public int GatewayPort { get; }

    public int HttpPort { get; }

    public HttpClient Http => http;

    public bool HasExited => process.HasExited;

    public int ExitCode => process.ExitCode;

    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    /// <summary>Starts a silo of cluster <paramref name="clusterId"/>; <paramref name="settings"/> add or override configuration (env names).</summary>
    public static SiloProcess Start(string storage, string clusterId, string name, IReadOnlyDictionary<string, string>? settings = null)
    {
        var dll = SiloDll();
        var (siloPort, gatewayPort, httpPort) = (FreePort(), FreePort(), FreePort());
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        var env = new Dictionary<string, string>
        {
            ["MOBILENET_STORAGE"] = storage,
            ["Silo__ClusterId"] = clusterId,
            ["Silo__Name"] = name,
            ["Silo__AdvertisedIp"] = "127.0.0.1",
            ["Silo__SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Silo__GatewayPort"] = gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Silo__HttpPort"] = httpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Silo__ProbeTimeout"] = "00:00:03", // Orleans 10 refuses less than 2.5 s
            ["Silo__NumMissedProbesLimit"] = "2",
            ["Silo__NumVotesForDeathDeclaration"] = "1",
            ["Worker__CacheDirectory"] = Path.Combine(Path.GetTempPath(), $"mobilenet-silo-tests-{clusterId}-{name}"),
            // The tests' containers are all named t-... (SiloTestData.NewId).
            ["StorageScope__Read__0"] = "t-*",
            ["StorageScope__Write__0"] = "t-*",
            ["Tls__CertificateDirectory"] = MobileNet.Orleans.Testing.TestCertificates.Shared.Silo,
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__Console__FormatterOptions__SingleLine"] = "true",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            env[key] = value;
        }

        foreach (var (key, value) in env)
        {
            start.Environment[key] = value;
        }

        // Settings that would move the silo's HTTP port or environment must not leak in from the test runner.
        start.Environment.Remove("ASPNETCORE_URLS");
        start.Environment.Remove("ASPNETCORE_HTTP_PORTS");

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var silo = new SiloProcess(process, name, siloPort, gatewayPort, httpPort);
        process.OutputDataReceived += (_, e) => silo.Append(e.Data);
        process.ErrorDataReceived += (_, e) => silo.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return silo;
    }

    /// <summary>GET <paramref name="path"/>: status code and body, or (0, reason) while the port does not answer.</summary>
    public async Task<(int Status, string Body)> GetAsync(string path)
    {
        try
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
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
            if (process.HasExited)
            {
                throw new InvalidOperationException($"silo {Name} exited with {process.ExitCode} while waiting for {path} -> {status}\n{Output}");
            }

            last = await GetAsync(path);
            if (last.Status == status)
            {
                return last.Body;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"silo {Name}: {path} still answered {last.Status} '{last.Body}' after {timeout}, not {status}\n{Output}");
    }

    /// <summary>Sends SIGTERM, as the kubelet does, and waits for the process to exit; returns how long that took.</summary>
    public async Task<TimeSpan> TerminateAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        using (var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })!)
        {
            await kill.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cts.Token);
        return clock.Elapsed;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        http.Dispose();
        process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }

    private static string SiloDll()
    {
        var configuration = typeof(SiloProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "src", "Silo", "bin", configuration, "net10.0", "linux-x64", "mobilenet-silo.dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"the built silo (src/Silo/bin/{configuration}/net10.0/linux-x64/mobilenet-silo.dll) was not found above {AppContext.BaseDirectory}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
