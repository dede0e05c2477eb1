using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MobileNet.Orleans.Client;
using MobileNet.Orleans.Contracts.Security;

namespace MobileNet.Orleans.Dashboard.Tests;

/// <summary>
/// Two real silo processes (mutual TLS, an operator token, a fast page refresh) and a dataset with a few broken
/// files, so a job has labeled images, error classes and thumbnails. The real MobileNet and photos when
/// MOBILENET_FIXTURES is set (readable labels in the screenshot), else a generated model and images.
/// </summary>
public sealed class DashboardClusterFixture : IAsyncLifetime
{
    public const int BrokenFiles = 4;

    internal SiloProcessCluster? Cluster { get; private set; }

    public string OperatorToken { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    public string ReaderToken { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    public string Container { get; } = TestStorage.UniqueContainer("dash");

    public string Model { get; } = "dash-" + Guid.NewGuid().ToString("N")[..8];

    public string Source => Container + "/img";

    public int Images { get; private set; }

    /// <summary>Each silo's HTTPS port and admin port, in start order.</summary>
    public IReadOnlyList<(int Http, int Admin)> Ports { get; private set; } = [];

    public async Task InitializeAsync()
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(TestStorage.Variable)))
        {
            return;
        }

        var storage = TestStorage.RequireConnectionString();
        using var temp = new TempDirectory();
        string model;
        if (TestFixtures.Root is { } fixtures && File.Exists(Path.Combine(fixtures, "models", "mobilenetv2-12-int8.onnx")))
        {
            model = Path.Combine(fixtures, "models", "mobilenetv2-12-int8.onnx");
            // Twice over, so the job runs long enough for the page to show it moving.
            var photos = Directory.GetFiles(Path.Combine(fixtures, "photos", "imagenet-sample-200"), "*.JPEG");
            foreach (var (photo, round) in photos.SelectMany(p => new[] { (p, 0), (p, 1) }))
            {
                temp.File(Path.Combine("img", $"r{round}-{Path.GetFileName(photo)}"), File.ReadAllBytes(photo));
            }

            Images = photos.Length * 2;
        }
        else
        {
            model = GeneratedModels.WriteV2(temp.Path);
            Images = 600;
            for (var i = 0; i < Images; i++)
            {
                temp.File(Path.Combine("img", $"gen-{i:D4}.jpg"), TestImages.BlocksJpeg(i));
            }
        }

        for (var i = 0; i < BrokenFiles; i++)
        {
            temp.File(Path.Combine("img", $"broken-{i}.jpg"), System.Text.Encoding.ASCII.GetBytes($"not an image {i}"));
        }

        temp.File(Path.Combine("img", "empty.jpg"), []);
        Images += BrokenFiles + 1;

        Cluster = new SiloProcessCluster(storage, new Dictionary<string, string>
        {
            ["Dashboard__OperatorToken"] = OperatorToken,
            ["Dashboard__ReaderToken"] = ReaderToken,
            ["Dashboard__RefreshInterval"] = "00:00:00.500",
            ["Dashboard__CacheDuration"] = "00:00:00.200",
            ["Dashboard__NodePricePerHour"] = "0.40",
            ["Worker__Slots"] = "1",
            ["Worker__UsageReportInterval"] = "00:00:00.500",
        });
        await RunAsync(["models", "upload", Model, "--file", model, .. Cluster.StorageArgs]);
        await RunAsync(["upload", Path.Combine(temp.Path, "img"), "--to", Source, .. Cluster.StorageArgs]);
        var ports = new List<(int, int)>();
        for (var i = 0; i < 2; i++)
        {
            var (http, admin) = (FreePort.Next(), FreePort.Next());
            ports.Add((http, admin));
            await Cluster.StartSiloAsync(new Dictionary<string, string>
            {
                ["Silo__HttpPort"] = http.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Dashboard__AdminPort"] = admin.ToString(System.Globalization.CultureInfo.InvariantCulture),
            });

            // An open gateway says the silo joined the cluster; its web ports can open a moment later.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (!(await FreePort.AnswersAsync(http) && await FreePort.AnswersAsync(admin)))
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(60))
                {
                    throw new TimeoutException($"silo {i + 1}'s dashboard ports {http}/{admin} did not open within 60 s");
                }

                await Task.Delay(200);
            }
        }

        Ports = ports;
    }

    public async Task DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }
    }

    /// <summary>Starts a job over the dataset (small shards, so progress moves in many steps) and returns its id.</summary>
    public async Task<string> SubmitAsync()
    {
        var cluster = Cluster ?? throw new InvalidOperationException("no cluster");
        var (code, stdout, stderr) = await Cli.RunAsync(["submit", "--source", Source, "--model", Model, "--shard-size", "8", .. cluster.ClientArgs]);
        Assert.True(code == ExitCodes.Success, $"submit exited {code}: {stderr}");
        return stdout.Trim().Split('\n')[^1].Trim();
    }

    /// <summary>An HTTPS client for silo <paramref name="silo"/>'s port that trusts the test CA, optionally presenting a client certificate of <paramref name="role"/>.</summary>
    public HttpClient Http(int port, CallerRole? role = null, string? certificateFolder = null)
    {
        var handler = new HttpClientHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) => certificate is not null && SiloProcess.IssuedByTestCa(certificate),
        };
        var folder = certificateFolder ?? (role is { } r ? TestCertificates.Shared.Client(r) : null);
        if (folder is not null)
        {
            using var pem = X509Certificate2.CreateFromPemFile(Path.Combine(folder, "tls.crt"), Path.Combine(folder, "tls.key"));
            handler.ClientCertificates.Add(X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null));
            handler.ClientCertificateOptions = ClientCertificateOption.Manual;
        }

        return new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    private static async Task RunAsync(string[] args)
    {
        var (code, _, stderr) = await Cli.RunAsync(args);
        Assert.True(code == ExitCodes.Success, $"mobilenet {args[0]} exited {code}: {stderr}");
    }
}

[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardClusterFixture>
{
    public const string Name = "Dashboard";
}

internal static class HttpStatus
{
    public static bool IsRedirectToLogin(HttpResponseMessage response) =>
        response.StatusCode == HttpStatusCode.Redirect && response.Headers.Location?.ToString().StartsWith("/dashboard/login", StringComparison.Ordinal) == true;
}
