using System.Diagnostics;

namespace MobileNet.Orleans.Deploy.Tests;

/// <summary>Runs command-line tools (kubectl, node) the deploy checks shell out to.</summary>
internal static class ExternalTool
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

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

    public static async Task<Result> RunAsync(string fileName, IEnumerable<string> arguments, string? standardInput = null, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = standardInput is not null,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? RepositoryPaths.Root,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
            process.StandardInput.Close();
        }

        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', start.ArgumentList)} ran longer than {Timeout}");
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
