using System.CommandLine;
using System.Globalization;
using MobileNet.Orleans.Client.Storage;

namespace MobileNet.Orleans.Client.Cluster;

/// <summary>The <c>--storage</c> option shared by every command that touches blob storage.</summary>
public sealed class StorageOption
{
    private readonly Option<string?> _storage = new("--storage")
    {
        Description = $"Azure Storage connection string (prefer env {StorageConnection.EnvironmentVariable}: a command line is visible to other users); default: local Azurite",
    };

    public StorageOption(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(_storage);
    }

    public StorageConnection Resolve(ParseResult parse) => StorageConnection.Resolve(parse.GetValue(_storage));
}

/// <summary>The options that locate the cluster: storage account + cluster id, or static gateways.</summary>
public sealed class ClusterConnectionOptions
{
    private readonly StorageOption _storage;

    private readonly Option<string?> _clusterId = new("--cluster-id")
    {
        Description = $"Orleans ClusterId (env {ClusterSettings.ClusterIdVariable}; default {ClusterSettings.DefaultClusterId})",
    };

    private readonly Option<string?> _serviceId = new("--service-id")
    {
        Description = $"Orleans ServiceId the silos were started with (env {ClusterSettings.ServiceIdVariable}; default {ClusterSettings.DefaultServiceId})",
    };

    private readonly Option<string[]> _gateway = new("--gateway")
    {
        Description = $"gateway host:port to connect to instead of looking silos up in storage (repeatable; env {ClusterSettings.GatewayVariable}, comma-separated)",
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<string?> _tlsDirectory = new("--tls-dir")
    {
        Description = $"folder with this client's certificate and key and the deployment's CA: tls.crt, tls.key, ca.crt (env {ClusterSettings.TlsDirectoryVariable}; 'mobilenet certs issue' makes one)",
    };

    private readonly Option<bool> _insecure = new("--insecure")
    {
        Description = "plain TCP without a certificate, for a cluster started with Tls:Insecure=true (anyone on the network can read and forge the calls)",
    };

    private readonly Option<double> _connectTimeout = new("--connect-timeout")
    {
        Description = "seconds to wait for the cluster before giving up (exit 2)",
        DefaultValueFactory = _ => 10,
    };

    public ClusterConnectionOptions(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        _storage = new StorageOption(command);
        command.Options.Add(_clusterId);
        command.Options.Add(_serviceId);
        command.Options.Add(_gateway);
        command.Options.Add(_tlsDirectory);
        command.Options.Add(_insecure);
        command.Options.Add(_connectTimeout);
    }

    public StorageConnection ResolveStorage(ParseResult parse) => _storage.Resolve(parse);

    public ClusterSettings Resolve(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var clusterId = FirstNonEmpty(parse.GetValue(_clusterId), Environment.GetEnvironmentVariable(ClusterSettings.ClusterIdVariable)) ?? ClusterSettings.DefaultClusterId;
        var serviceId = FirstNonEmpty(parse.GetValue(_serviceId), Environment.GetEnvironmentVariable(ClusterSettings.ServiceIdVariable)) ?? ClusterSettings.DefaultServiceId;
        var gatewayTexts = parse.GetValue(_gateway) is { Length: > 0 } given
            ? given
            : (Environment.GetEnvironmentVariable(ClusterSettings.GatewayVariable) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var timeout = parse.GetValue(_connectTimeout);
        if (!double.IsFinite(timeout) || timeout is <= 0 or > 600)
        {
            throw new CliUsageException($"--connect-timeout {timeout.ToString(CultureInfo.InvariantCulture)} must be between 0 and 600 seconds");
        }

        var tlsDirectory = FirstNonEmpty(parse.GetValue(_tlsDirectory), Environment.GetEnvironmentVariable(ClusterSettings.TlsDirectoryVariable));
        var insecure = parse.GetValue(_insecure);
        if (insecure && parse.GetValue(_tlsDirectory) is not null)
        {
            throw new CliUsageException("--insecure and --tls-dir exclude each other");
        }

        if (insecure)
        {
            tlsDirectory = null;
            parse.InvocationConfiguration.Error.WriteLine("warning: --insecure: plain TCP without a client certificate; anyone on the network can read these calls and the cluster cannot tell who you are");
        }
        else if (tlsDirectory is null)
        {
            throw new CliUsageException($"no client certificate: pass --tls-dir <folder with tls.crt, tls.key, ca.crt> (or set {ClusterSettings.TlsDirectoryVariable}); 'mobilenet certs issue' makes one; --insecure only for a cluster without TLS");
        }

        return new ClusterSettings
        {
            Storage = _storage.Resolve(parse),
            TlsDirectory = tlsDirectory,
            Insecure = insecure,
            ClusterId = clusterId,
            ServiceId = serviceId,
            Gateways = [.. gatewayTexts.Select(ClusterSettings.ParseGateway)],
            ConnectTimeout = TimeSpan.FromSeconds(timeout),
        };
    }

    private static string? FirstNonEmpty(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v))?.Trim();
}
