using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using MobileNet.Orleans.Testing;

namespace MobileNet.Orleans.Reliability.Tests;

/// <summary>
/// An Azurite of the test's own, persisting to a folder on disk, so the test can stop it (a storage outage, a whole
/// cluster restart) and start it again on the same data and ports. Uses the Azurite that scripts/test.sh installs
/// under .run/tools; stopped by PID.
/// </summary>
internal sealed class AzuriteProcess : IAsyncDisposable
{
    private const string Account = "devstoreaccount1";
    // Azurite's published development key: public, valid only against a local emulator.
    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private readonly int _blob = SiloProcessCluster.FreePort();
    private readonly int _queue = SiloProcessCluster.FreePort();
    private readonly int _table = SiloProcessCluster.FreePort();
    private Process? _process;

    private AzuriteProcess(string dataDirectory) => DataDirectory = dataDirectory;

    public string DataDirectory { get; }

    public static string Executable => Path.Combine(SiloProcessCluster.RepositoryRoot, ".run", "tools", "node_modules", ".bin", "azurite");

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={Key};" +
        $"BlobEndpoint=http://127.0.0.1:{_blob}/{Account};QueueEndpoint=http://127.0.0.1:{_queue}/{Account};TableEndpoint=http://127.0.0.1:{_table}/{Account};";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts a fresh Azurite persisting under .run/reliability; skips the test when Azurite is not installed.</summary>
    public static async Task<AzuriteProcess> StartNewAsync()
    {
        Skip.IfNot(File.Exists(Executable), $"Azurite is not installed at {Executable}: scripts/test.sh or scripts/reliability.sh installs it");
        var data = Path.Combine(SiloProcessCluster.RepositoryRoot, ".run", "reliability", "azurite-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(data);
        var azurite = new AzuriteProcess(data);
        try
        {
            await azurite.StartAsync();
            return azurite;
        }
        catch
        {
            // A start that timed out leaves the process running: stop it by PID before failing.
            await azurite.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts (again) on the same ports and data, and waits until blob and table answer.</summary>
    public async Task StartAsync()
    {
        if (IsRunning)
        {
            return;
        }

        var info = new ProcessStartInfo(Executable,
        [
            "--silent", "--skipApiVersionCheck", "--disableTelemetry", "--loose",
            "--blobHost", "127.0.0.1", "--blobPort", Port(_blob),
            "--queueHost", "127.0.0.1", "--queuePort", Port(_queue),
            "--tableHost", "127.0.0.1", "--tablePort", Port(_table),
            "--location", DataDirectory,
        ])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _process = Process.Start(info) ?? throw new InvalidOperationException("could not start azurite");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(120))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"azurite exited with code {_process.ExitCode} at start");
            }

            if (await AnswersAsync(_blob) && await AnswersAsync(_table))
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("azurite did not answer within 120 s");
    }

    /// <summary>Stops it by PID: SIGTERM (it saves its data), SIGKILL after 10 s.</summary>
    public async Task StopAsync()
    {
        if (_process is null)
        {
            return;
        }

        if (!_process.HasExited)
        {
            using (var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false }))
            {
                await kill!.WaitForExitAsync();
            }

            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }
        }

        _process.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    private static async Task<bool> AnswersAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
