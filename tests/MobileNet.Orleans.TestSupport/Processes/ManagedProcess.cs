using System.Globalization;
using System.Text;
using CliWrap;

namespace MobileNet.Orleans.Testing.Processes;

/// <summary>
/// A long-running child process a test starts (a silo, Azurite, a watching CLI): started through CliWrap, its output
/// kept line by line with arrival times, stopped by PID (SIGTERM as Kubernetes sends it, or SIGKILL), and killed on
/// dispose if it still runs.
/// </summary>
public sealed class ManagedProcess : IAsyncDisposable
{
    /// <summary>The exit code reported for a process the test killed (what a shell shows for SIGKILL).</summary>
    public const int KilledExitCode = 137;

    private const int TailLines = 200;
    private readonly CancellationTokenSource _kill = new();
    private readonly Queue<string> _tail = new();
    private readonly List<(DateTimeOffset At, string Line)> _lines = [];
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly StreamWriter? _file;
    private readonly Task<int> _exit;
    private int _stdoutLines;
    private int _stderrLines;

    private ManagedProcess(string name, Command command, string? logFile)
    {
        Name = name;
        if (logFile is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(logFile)!);
            _file = new StreamWriter(logFile, append: true) { AutoFlush = true };
        }

        var task = command
            .WithStandardOutputPipe(PipeTarget.ToDelegate(line => Keep(line, error: false)))
            .WithStandardErrorPipe(PipeTarget.ToDelegate(line => Keep(line, error: true)))
            .WithValidation(CommandResultValidation.None)
            .ExecuteAsync(_kill.Token);
        Id = task.ProcessId;
        _exit = ExitCodeOfAsync(task);
    }

    public string Name { get; }

    public int Id { get; }

    public bool HasExited => _exit.IsCompleted;

    /// <summary>The exit code; only once <see cref="HasExited"/>.</summary>
    public int ExitCode => HasExited ? _exit.Result : throw new InvalidOperationException($"{Name} is still running");

    /// <summary>The test stopped it on purpose (<see cref="Kill"/> or <see cref="TerminateAsync"/>); any other exit is a crash.</summary>
    public bool StoppedByTest { get; private set; }

    /// <summary>Every line written so far (both streams), with the time it arrived.</summary>
    public IReadOnlyList<(DateTimeOffset At, string Line)> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>The last lines, for failure messages.</summary>
    public string LogTail
    {
        get
        {
            lock (_lines)
            {
                return string.Join('\n', _tail);
            }
        }
    }

    /// <summary>Both streams in arrival order.</summary>
    public string Output
    {
        get
        {
            lock (_lines)
            {
                return string.Join('\n', _lines.Select(l => l.Line));
            }
        }
    }

    public string StandardOutput
    {
        get
        {
            lock (_lines)
            {
                return _stdout.ToString();
            }
        }
    }

    public string StandardError
    {
        get
        {
            lock (_lines)
            {
                return _stderr.ToString();
            }
        }
    }

    public int StandardOutputLineCount => Volatile.Read(ref _stdoutLines);

    public int StandardErrorLineCount => Volatile.Read(ref _stderrLines);

    /// <summary>Starts <paramref name="command"/>; <paramref name="logFile"/>, when set, also receives every line.</summary>
    public static ManagedProcess Start(string name, Command command, string? logFile = null) => new(name, command, logFile);

    /// <summary>SIGKILL, by PID; returns at once (see <see cref="WaitExitAsync"/>).</summary>
    public void Kill()
    {
        if (!HasExited)
        {
            StoppedByTest = true;
            _kill.Cancel();
        }
    }

    /// <summary>SIGTERM, by PID (what Kubernetes sends on scale-in); returns once the signal is sent.</summary>
    public async Task TerminateAsync()
    {
        if (HasExited)
        {
            return;
        }

        StoppedByTest = true;
        await CliWrap.Cli.Wrap("kill").WithArguments(["-TERM", Id.ToString(CultureInfo.InvariantCulture)]).WithValidation(CommandResultValidation.None).ExecuteAsync();
    }

    /// <summary>Waits up to <paramref name="timeout"/> for the exit; false if it still runs.</summary>
    public async Task<bool> WaitExitAsync(TimeSpan timeout)
    {
        try
        {
            await _exit.WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Peak resident memory (VmHWM) in bytes while the process lives; null once it is gone.</summary>
    public long? PeakWorkingSetBytes()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{Id}/status"))
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

    public async ValueTask DisposeAsync()
    {
        Kill();
        await WaitExitAsync(TimeSpan.FromSeconds(30));
        _kill.Dispose();
        lock (_lines)
        {
            _file?.Dispose();
        }
    }

    private static async Task<int> ExitCodeOfAsync(CommandTask<CommandResult> task)
    {
        try
        {
            return (await task).ExitCode;
        }
        catch (OperationCanceledException)
        {
            return KilledExitCode;
        }
    }

    private void Keep(string line, bool error)
    {
        lock (_lines)
        {
            _tail.Enqueue(line);
            while (_tail.Count > TailLines)
            {
                _tail.Dequeue();
            }

            _lines.Add((DateTimeOffset.UtcNow, line));
            (error ? _stderr : _stdout).Append(line).Append('\n');
            if (error)
            {
                Interlocked.Increment(ref _stderrLines);
            }
            else
            {
                Interlocked.Increment(ref _stdoutLines);
            }

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
