using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MobileNet.Orleans.Client.Cluster;
using MobileNet.Orleans.Client.Jobs;
using MobileNet.Orleans.Client.Storage;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Security;
using Orleans.Configuration;
using Xunit.Abstractions;

namespace MobileNet.Orleans.Client.Tests.EndToEnd;

/// <summary>Two real silo processes with mutual TLS, one dataset and model, shared by the security tests.</summary>
public sealed class SecureClusterFixture : IAsyncLifetime
{
    public const int Images = 30;

    internal SiloProcessCluster? Cluster { get; private set; }

    public string Container { get; } = TestStorage.UniqueContainer("sec");

    public string Model { get; } = "sec-" + Guid.NewGuid().ToString("N")[..8];

    public string Source => Container + "/img";

    public async Task InitializeAsync()
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(TestStorage.Variable)))
        {
            return;
        }

        var storage = TestStorage.RequireConnectionString();
        using var temp = new TempDirectory();
        var model = GeneratedModels.WriteV2(temp.Path);
        for (var i = 0; i < Images; i++)
        {
            temp.File(Path.Combine("img", $"gen-{i:D3}.jpg"), TestImages.BlocksJpeg(i));
        }

        Cluster = new SiloProcessCluster(storage);
        // The data plane keeps using the user's own storage credentials.
        await RunAsync(["models", "upload", Model, "--file", model, .. Cluster.StorageArgs]);
        await RunAsync(["upload", Path.Combine(temp.Path, "img"), "--to", Source, .. Cluster.StorageArgs]);
        await Cluster.StartSilosAsync(2);
    }

    public async Task DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }
    }

    private static async Task RunAsync(string[] args)
    {
        var (code, _, stderr) = await Cli.RunAsync(args);
        Assert.True(code == ExitCodes.Success, $"mobilenet {args[0]} exited {code}: {stderr}");
    }
}

/// <summary>
/// Issue 10 with real silo processes: only clients holding a certificate from the deployment's CA connect, roles
/// are enforced per call, worker-only methods refuse every client, and a CLI without a storage key does all job work.
/// </summary>
[Trait("Category", "E2E"), Collection(EndToEndCollection.Name)]
public sealed class SecurityEndToEndTests(SecureClusterFixture fixture, ITestOutputHelper output) : IClassFixture<SecureClusterFixture>
{
    [SkippableFact]
    public async Task Connect_InsecureOrOtherCaClient_CannotConnect()
    {
        var cluster = Require();
        var keyless = cluster.KeylessClientArgs(CallerRole.Admin);

        var plain = await Cli.RunAsync(["jobs", .. WithoutTlsDir(keyless), "--insecure", "--connect-timeout", "8"]);
        var otherCa = await Cli.RunAsync(["jobs", .. WithoutTlsDir(keyless), "--tls-dir", TestCertificates.Shared.OtherAuthorityAdmin, "--connect-timeout", "8"]);

        output.WriteLine($"plain TCP: {plain.ExitCode} {plain.Stderr}\nother CA: {otherCa.ExitCode} {otherCa.Stderr}");
        Assert.Equal(ExitCodes.BadInput, plain.ExitCode);
        Assert.Contains("warning: --insecure", plain.Stderr, StringComparison.Ordinal);
        Assert.Contains("cannot reach cluster", plain.Stderr, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.BadInput, otherCa.ExitCode);
        Assert.Contains("cannot reach cluster", otherCa.Stderr, StringComparison.Ordinal);
        Assert.Contains("Does the cluster trust certificate 'intruder'", otherCa.Stderr, StringComparison.Ordinal);
    }

    /// <summary>Raw Orleans clients that trust any gateway, so only the silo's check of the client can stop them.</summary>
    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Connect_TlsClientWithoutOrWithForeignCertificate_CannotCallTheCluster(bool foreignCertificate)
    {
        var cluster = Require();
        using var foreign = foreignCertificate
            ? System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(
                Path.Combine(TestCertificates.Shared.OtherAuthorityAdmin, "tls.crt"), Path.Combine(TestCertificates.Shared.OtherAuthorityAdmin, "tls.key"))
            : null;
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = cluster.ServiceId;
            });
            client.UseStaticClustering([.. cluster.Silos.Select(s => new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, s.GatewayPort))]);
            // TLS, trusting whatever the gateway shows, with no certificate or one from a CA the cluster does not trust.
            client.UseTls(o =>
            {
                o.LocalCertificate = foreign;
                o.AllowAnyRemoteCertificate();
                o.OnAuthenticateAsClient = (_, ssl) => ssl.TargetHost = "mobilenet-silo";
            });
            client.UseConnectionRetryFilter((_, _) => Task.FromResult(false));
        });
        using var host = builder.Build();

        var error = await Record.ExceptionAsync(async () =>
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await host.StartAsync(timeout.Token);
            await host.Services.GetRequiredService<IClusterClient>().GetGrain<IJobRegistryGrain>(0).GetRecentJobsAsync(5).WaitAsync(TimeSpan.FromSeconds(20));
        });

        output.WriteLine($"{(foreignCertificate ? "foreign" : "no")} client certificate: {error?.GetType().Name}: {error?.Message}");
        Assert.NotNull(error);
        if (foreignCertificate)
        {
            // Refused by the silo's check of the client certificate, not by anything on the client side.
            Assert.Contains(cluster.Silos, s => s.LogTail.Contains("Refused a TLS connection (gateway) from 'CN=intruder", StringComparison.Ordinal));
        }
    }

    [SkippableFact]
    public async Task Reader_SubmitOrCancel_RefusedWithExitThree_ReadsWork()
    {
        var cluster = Require();
        var reader = cluster.KeylessClientArgs(CallerRole.Reader);
        var submitter = cluster.KeylessClientArgs(CallerRole.Submitter);
        var jobId = (await RunOkAsync(["submit", "--source", fixture.Source, "--model", fixture.Model, "--shard-size", "5", "--wait", .. submitter])).Stdout.TrimEnd().Split('\n')[^1];

        var submit = await Cli.RunAsync(["submit", "--source", fixture.Source, "--model", fixture.Model, .. reader]);
        var cancel = await Cli.RunAsync(["cancel", jobId, .. reader]);

        Assert.Equal(ExitCodes.NotAllowed, submit.ExitCode);
        Assert.Contains("'test-reader' has role reader; SubmitAsync needs role submitter", submit.Stderr, StringComparison.Ordinal);
        Assert.Equal("", submit.Stdout);
        Assert.Equal(ExitCodes.NotAllowed, cancel.ExitCode);
        Assert.Contains("CancelAsync needs role submitter", cancel.Stderr, StringComparison.Ordinal);
        // Reading is what a reader is for.
        var status = await RunOkAsync(["status", jobId, "--json", .. reader]);
        using (var json = JsonDocument.Parse(status.Stdout))
        {
            Assert.Equal("Completed", json.RootElement.GetProperty("state").GetString());
        }

        Assert.Contains(jobId, (await RunOkAsync(["jobs", .. reader])).Stdout, StringComparison.Ordinal);
        Assert.Contains($"wrote {SecureClusterFixture.Images} result(s)", (await RunOkAsync(["results", jobId, .. reader])).Stderr, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task WorkerOnlyMethods_CalledByAdminClient_RefusedAndJobUnaffected()
    {
        var cluster = Require();
        var jobId = JobId.New(DateTimeOffset.UtcNow);
        await using var connection = await ClusterConnection.ConnectAsync(
            new ClusterSettings
            {
                Storage = StorageConnection.Resolve(SiloProcessCluster.UnreachableStorage),
                ClusterId = cluster.ClusterId,
                ServiceId = cluster.ServiceId,
                Gateways = [.. cluster.Silos.Select(s => new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, s.GatewayPort))],
                TlsDirectory = TestCertificates.Shared.Client(CallerRole.Admin),
                ConnectTimeout = TimeSpan.FromSeconds(60),
            },
            CancellationToken.None);
        var job = connection.Client.GetGrain<IJobCoordinatorGrain>(jobId);
        var registry = connection.Client.GetGrain<IJobRegistryGrain>(0);
        var spec = Commands.SubmitCommand.BuildSpec(fixture.Source, fixture.Model, 3, 3, null, null, null);
        await job.SubmitAsync(spec);
        var fake = new ShardLeaseRef { JobId = jobId, ShardId = 0, LeaseId = Guid.NewGuid(), Silo = "intruder" };

        var refusals = new[]
        {
            await Record.ExceptionAsync(() => job.LeaseShardsAsync("intruder", int.MaxValue)),
            await Record.ExceptionAsync(() => job.CompleteShardAsync(fake, new ShardProgress { Processed = 3, Labeled = 3 })),
            await Record.ExceptionAsync(() => job.FailShardAsync(fake, new ShardAttemptFailure { Kind = ShardFailureKind.Processing, Reason = "forged" })),
            await Record.ExceptionAsync(() => job.ReleaseShardAsync(fake)),
            await Record.ExceptionAsync(() => job.RenewLeaseAsync(fake, new ShardProgress())),
            await Record.ExceptionAsync(() => registry.MarkEndedAsync(jobId)),
            await Record.ExceptionAsync(() => registry.RegisterAsync(new JobEntry { JobId = jobId, SubmittedAt = DateTimeOffset.UtcNow })),
            await Record.ExceptionAsync(() => registry.GetActiveJobsAsync()),
        };

        foreach (var refusal in refusals)
        {
            var denied = Assert.IsType<UnauthorizedAccessException>(refusal);
            Assert.Contains("is worker-only", denied.Message, StringComparison.Ordinal);
        }

        // The job ran as if nobody had tried: every image labeled by the workers, no shard redone or lost.
        var status = await JobCalls.WatchAsync(connection.Client, jobId, JobWatchView.For(TextWriter.Null), TimeSpan.FromMilliseconds(300), TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Equal(JobState.Completed, status.State);
        Assert.Equal(SecureClusterFixture.Images, status.Labeled + status.Errors);
        Assert.Equal(status.ShardsTotal, status.ShardsDone);
        Assert.Equal(0, status.ShardsRedispatched);
        Assert.DoesNotContain(status.Silos, s => s.Silo == "intruder");
    }

    [SkippableFact]
    public async Task KeylessCli_SubmitStatusWatchJobsCancelResults_AllWork()
    {
        var cluster = Require();
        var args = cluster.KeylessClientArgs(CallerRole.Submitter);
        using var temp = new TempDirectory();

        var jobId = (await RunOkAsync(["submit", "--source", fixture.Source, "--model", fixture.Model, "--shard-size", "4", .. args])).Stdout.TrimEnd().Split('\n')[^1];
        var watch = await RunOkAsync(["watch", jobId, "--interval", "0.2", .. args]);
        var status = await RunOkAsync(["status", jobId, .. args]);
        var jobs = await RunOkAsync(["jobs", "--json", .. args]);
        var file = Path.Combine(temp.Path, "r.csv");
        await RunOkAsync(["results", jobId, "-o", file, .. args]);
        var second = (await RunOkAsync(["submit", "--source", fixture.Source, "--model", fixture.Model, "--shard-size", "1", .. args])).Stdout.TrimEnd().Split('\n')[^1];
        var cancel = await RunOkAsync(["cancel", second, .. args]);
        var afterCancel = await RunOkAsync(["status", second, "--json", .. args]);

        Assert.Contains($"job {jobId} completed", watch.Stderr, StringComparison.Ordinal);
        Assert.Contains("Completed", status.Stdout, StringComparison.Ordinal);
        Assert.Contains(jobId, jobs.Stdout, StringComparison.Ordinal);
        var rows = ResultsCsv.Read(file);
        Assert.Equal(SecureClusterFixture.Images, rows.Count);
        Assert.Equal(rows.Count, rows.Select(r => r.Image).Distinct(StringComparer.Ordinal).Count());
        using var json = JsonDocument.Parse(afterCancel.Stdout);
        var state = json.RootElement.GetProperty("state").GetString();
        // Cancel ends a running job; one that already finished stays as it ended.
        Assert.True(state is "Cancelled" or "Completed", $"state after cancel: {state}; cancel said: {cancel.Stderr}{cancel.Stdout}");
    }

    [SkippableTheory]
    [InlineData("missing", "source container 't-no-such-container-x1' does not exist")]
    [InlineData("empty-prefix", "no blobs under source '{container}/im/'")]
    [InlineData("unknown-model", "model 'no-such-model' is not in the model store")]
    public async Task KeylessSubmit_BadSourceOrModel_ExitsTwoWithTheClusterReason(string scenario, string expected)
    {
        var cluster = Require();
        var (source, model) = scenario switch
        {
            // Inside the tests' storage scope (t-*), so the answer is about the container, not the scope.
            "missing" => ("t-no-such-container-x1/set1", fixture.Model),
            "empty-prefix" => (fixture.Container + "/im", fixture.Model),
            _ => (fixture.Source, "no-such-model"),
        };

        var (code, stdout, stderr) = await Cli.RunAsync(["submit", "--source", source, "--model", model, .. cluster.KeylessClientArgs(CallerRole.Submitter)]);

        Assert.True(code == ExitCodes.BadInput, $"exit {code}: {stderr}");
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.Contains(expected.Replace("{container}", fixture.Container, StringComparison.Ordinal), line, StringComparison.Ordinal);
    }

    internal SiloProcessCluster Require()
    {
        TestStorage.RequireConnectionString();
        return fixture.Cluster ?? throw new InvalidOperationException("the secure cluster did not start");
    }

    /// <summary>The arguments without their certificate and connect timeout (the caller gives its own).</summary>
    private static string[] WithoutTlsDir(string[] args)
    {
        var list = args.ToList();
        foreach (var option in new[] { "--tls-dir", "--connect-timeout" })
        {
            list.RemoveRange(list.IndexOf(option), 2);
        }

        return [.. list];
    }

    private async Task<(string Stdout, string Stderr)> RunOkAsync(string[] args)
    {
        var (code, stdout, stderr) = await Cli.RunAsync(args);
        output.WriteLine($"$ mobilenet {args[0]} ... -> {code}\n{stderr.TrimEnd()}");
        Assert.True(code == ExitCodes.Success, $"mobilenet {args[0]} exited {code}: {stderr}");
        return (stdout, stderr);
    }
}
