using CliWrap;
using CliWrap.Buffered;

namespace MobileNet.Orleans.Testing.Processes;

/// <summary>Runs a command-line tool to its end (kubectl, node, openssl, the CLI as a process) and returns its output.</summary>
public static class ExternalTool
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    public sealed record Result(int ExitCode, string StandardOutput, string StandardError)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{StandardOutput}\n--- stderr\n{StandardError}";
    }

    /// <summary>The full path of <paramref name="name"/> on PATH, or null.</summary>
    public static string? Find(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
    }

    /// <summary>Skips the calling test, saying why, when <paramref name="name"/> is not installed.</summary>
    public static string Require(string name, string purpose)
    {
        var found = Find(name);
        Skip.If(found is null, $"'{name}' is not on PATH: {purpose} cannot run here.");
        return found!;
    }

    /// <summary>Runs <paramref name="fileName"/> in <paramref name="workingDirectory"/> (default: the repository root); killed after <paramref name="timeout"/> (default 2 minutes).</summary>
    public static async Task<Result> RunAsync(string fileName, IEnumerable<string> arguments, string? standardInput = null, string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        var args = arguments.ToList();
        var command = CliWrap.Cli.Wrap(fileName)
            .WithArguments(args)
            .WithWorkingDirectory(workingDirectory ?? RepositoryLayout.Root)
            .WithEnvironmentVariables(environment ?? new Dictionary<string, string?>())
            .WithValidation(CommandResultValidation.None);
        if (standardInput is not null)
        {
            command = command.WithStandardInputPipe(PipeSource.FromString(standardInput));
        }

        var limit = timeout ?? DefaultTimeout;
        using var cts = new CancellationTokenSource(limit);
        try
        {
            var result = await command.ExecuteBufferedAsync(cts.Token);
            return new Result(result.ExitCode, result.StandardOutput, result.StandardError);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{fileName} {string.Join(' ', args)} ran longer than {limit}");
        }
    }
}
