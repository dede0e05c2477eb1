using Azure.Storage.Blobs;

namespace MobileNet.Orleans.Client.Tests;

/// <summary>The test Azurite that scripts/test.sh starts (MOBILENET_TEST_STORAGE); tests that need it skip without it.</summary>
internal static class TestStorage
{
    public const string Variable = "MOBILENET_TEST_STORAGE";

    public static string RequireConnectionString()
    {
        var value = Environment.GetEnvironmentVariable(Variable);
        Skip.If(string.IsNullOrWhiteSpace(value), $"No test storage: set {Variable} to an Azurite connection string (scripts/test.sh starts one and sets it).");
        return value!;
    }

    public static BlobServiceClient CreateService() =>
        new(RequireConnectionString(), new BlobClientOptions { Retry = { MaxRetries = 1, Delay = TimeSpan.FromMilliseconds(100) } });

    /// <summary>A container name no other test (or earlier run) uses.</summary>
    public static string UniqueContainer(string purpose)
    {
        var name = $"t-{purpose}-{Guid.NewGuid():N}";
        return name[..Math.Min(40, name.Length)].TrimEnd('-');
    }
}

/// <summary>A temporary folder deleted on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mobilenet-cli-tests-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string relative, byte[] content)
    {
        var full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        System.IO.File.WriteAllBytes(full, content);
        return full;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Runs the CLI in-process with captured output.</summary>
internal static class Cli
{
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliApplication.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
