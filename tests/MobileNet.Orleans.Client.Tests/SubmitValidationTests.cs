using System.Diagnostics;
using MobileNet.Orleans.Client.Commands;
using MobileNet.Orleans.Contracts.Security;

namespace MobileNet.Orleans.Client.Tests;

/// <summary>
/// Bad submits exit 2 with one line saying what to fix, and start nothing. Checks that need storage (source,
/// manifest, model, storage scope) run on the cluster: SubmitRefusalEndToEndTests and SecurityEndToEndTests cover them,
/// the latter with a client holding no storage key.
/// </summary>
public sealed class SubmitValidationTests : IAsyncLifetime
{
    private string _storage = "";
    private string _container = "";
    private string _model = "";

    public async Task InitializeAsync()
    {
        var connection = Environment.GetEnvironmentVariable(TestStorage.Variable);
        if (string.IsNullOrWhiteSpace(connection))
        {
            return;
        }

        _storage = connection;
        var service = TestStorage.CreateService();
        _container = TestStorage.UniqueContainer("submit");
        var container = service.GetBlobContainerClient(_container);
        await container.CreateAsync();
        await container.GetBlobClient("set1/a.jpg").UploadAsync(BinaryData.FromBytes([1, 2, 3]));
        using var dir = new TempDirectory();
        _model = "m" + Guid.NewGuid().ToString("N")[..8];
        var request = ModelsUploadCommand.ModelUploadRequest.Resolve(_model, new FileInfo(dir.File("m.onnx", TinyOnnxModel.Build(16, dynamicBatch: true, nhwc: false))), null, null);
        await ModelsUploadCommand.UploadAsync(service, request, TimeProvider.System, CancellationToken.None);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private async Task<string> RunRejectedAsync(params string[] args)
    {
        var (code, stdout, stderr) = await Cli.RunAsync(["submit", .. args, "--storage", _storage, "--tls-dir", TestCertificates.Shared.Client(CallerRole.Submitter)]);
        Assert.True(code == ExitCodes.BadInput, $"exit {code}: {stderr}");
        Assert.Equal("", stdout);
        var lines = stderr.TrimEnd().Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        return lines[0];
    }

    [Theory]
    [InlineData("--top-k", "0", "--top-k 0 is out of range")]
    [InlineData("--top-k", "1001", "--top-k 1001 is out of range")]
    [InlineData("--shard-size", "0", "--shard-size 0 is out of range")]
    [InlineData("--shard-size", "10001", "--shard-size 10001 is out of range")]
    [InlineData("--max-errors", "120%", "--max-errors '120%' is not an error threshold")]
    [InlineData("--output", "Bad!/x", "--output 'Bad!/x': container name")]
    [InlineData("--output", "results/../x", "output prefix '../x' must not contain")]
    [InlineData("--top-k", "20", "top-k x shard size must be at most 100000")]
    public async Task Submit_ArgumentOutOfRange_ExitsTwoBeforeTouchingStorage(string option, string value, string expected)
    {
        // Storage points at a closed port: argument checks must come first.
        string[] extra = option == "--top-k" && value == "20" ? ["--shard-size", "10000"] : [];
        var (code, stdout, stderr) = await Cli.RunAsync(["submit", "--source", "photos/set1", "--model", "m", option, value, .. extra, "--storage", ClosedPortStorage()]);

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Equal("", stdout);
        Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Submit_ClosedGatewayPort_ExitsTwoFast()
    {
        TestStorage.RequireConnectionString();
        var watch = Stopwatch.StartNew();

        var message = await RunRejectedAsync("--source", _container + "/set1", "--model", _model, "--gateway", $"127.0.0.1:{FreePort.Next()}", "--connect-timeout", "5");

        Assert.Contains("cannot reach cluster", message, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
    }

    [SkippableFact]
    public async Task Submit_ClusterWithNoSilos_ExitsTwoFast()
    {
        TestStorage.RequireConnectionString();
        var watch = Stopwatch.StartNew();

        var message = await RunRejectedAsync("--source", _container + "/set1", "--model", _model, "--cluster-id", "nobody-" + Guid.NewGuid().ToString("N")[..8], "--connect-timeout", "5");

        Assert.Contains("cannot reach cluster 'nobody-", message, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task Submit_NoCertificateNorInsecure_ExitsTwoBeforeConnecting()
    {
        var (code, stdout, stderr) = await Cli.RunAsync("submit", "--source", "photos/set1", "--model", "m", "--gateway", $"127.0.0.1:{FreePort.Next()}");

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Equal("", stdout);
        Assert.Contains("no client certificate: pass --tls-dir", Assert.Single(stderr.TrimEnd().Split('\n')), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_InsecureAndTlsDir_ExitsTwo()
    {
        var (code, _, stderr) = await Cli.RunAsync("submit", "--source", "photos/set1", "--model", "m", "--insecure", "--tls-dir", "/nowhere");

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("--insecure and --tls-dir exclude each other", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_TlsDirWithoutCertificate_ExitsTwoNamingTheFile()
    {
        using var dir = new TempDirectory();

        var (code, _, stderr) = await Cli.RunAsync("submit", "--source", "photos/set1", "--model", "m", "--tls-dir", dir.Path, "--gateway", $"127.0.0.1:{FreePort.Next()}");

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("tls.crt' is missing", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("status")]
    [InlineData("watch")]
    [InlineData("results")]
    [InlineData("cancel")]
    public async Task JobCommand_MalformedJobId_ExitsTwo(string command)
    {
        var (code, _, stderr) = await Cli.RunAsync(command, "Not A Job", "--storage", ClosedPortStorage());

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("is not a job id", stderr, StringComparison.Ordinal);
    }

    internal static string ClosedPortStorage()
    {
        var port = FreePort.Next();
        return AzuriteAccount.ConnectionString(port, port, port);
    }
}
