using System.Diagnostics;
using System.Globalization;
using CliWrap;
using MobileNet.Orleans.Testing.Networking;
using MobileNet.Orleans.Testing.Processes;

namespace MobileNet.Orleans.Testing.Storage;

/// <summary>
/// An Azurite of the test's own, persisting to a folder on disk, so the test can stop it (a storage outage, a whole
/// cluster restart) and start it again on the same data and ports. Uses the Azurite that scripts/test.sh installs
/// under .run/tools; stopped by PID.
/// </summary>
public sealed class AzuriteProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);
    private readonly int _blob = FreePort.Next();
    private readonly int _queue = FreePort.Next();
    private readonly int _table = FreePort.Next();
    private ManagedProcess? _process;

    private AzuriteProcess(string dataDirectory) => DataDirectory = dataDirectory;

    public string DataDirectory { get; }

    public string ConnectionString => AzuriteAccount.ConnectionString(_blob, _queue, _table);

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts a fresh Azurite persisting under .run/reliability; skips the test when Azurite is not installed.</summary>
    public static async Task<AzuriteProcess> StartNewAsync()
    {
        var executable = RepositoryLayout.AzuriteExecutable;
        Skip.IfNot(File.Exists(executable), $"Azurite is not installed at {executable}: scripts/test.sh or scripts/reliability.sh installs it");
        var data = Path.Combine(RepositoryLayout.Root, ".run", "reliability", "azurite-" + Guid.NewGuid().ToString("N")[..8]);
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

        var command = CliWrap.Cli.Wrap(RepositoryLayout.AzuriteExecutable).WithArguments(
        [
            "--silent", "--skipApiVersionCheck", "--disableTelemetry", "--loose",
            "--blobHost", "127.0.0.1", "--blobPort", Port(_blob),
            "--queueHost", "127.0.0.1", "--queuePort", Port(_queue),
            "--tableHost", "127.0.0.1", "--tablePort", Port(_table),
            "--location", DataDirectory,
        ]);
        _process = ManagedProcess.Start("azurite", command);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < StartTimeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"azurite exited with code {_process.ExitCode} at start:\n{_process.LogTail}");
            }

            if (await FreePort.AnswersAsync(_blob) && await FreePort.AnswersAsync(_table))
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"azurite did not answer within {StartTimeout.TotalSeconds} s");
    }

    /// <summary>Stops it by PID: SIGTERM (it saves its data), SIGKILL after 10 s.</summary>
    public async Task StopAsync()
    {
        if (_process is null)
        {
            return;
        }

        await _process.TerminateAsync();
        if (!await _process.WaitExitAsync(TimeSpan.FromSeconds(10)))
        {
            _process.Kill();
        }

        await _process.DisposeAsync();
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
}
