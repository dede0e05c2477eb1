using MobileNet.Orleans.Client;

namespace MobileNet.Orleans.Testing.Processes;

/// <summary>Runs the <c>mobilenet</c> CLI in-process with captured output (exit code, stdout, stderr).</summary>
public static class Cli
{
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliApplication.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
