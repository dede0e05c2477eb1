using System.Globalization;
using System.Net;
using MobileNet.Orleans.Client.Storage;

namespace MobileNet.Orleans.Client.Cluster;

/// <summary>How the CLI finds the cluster: Azure Table membership in the storage account, or a static gateway list.</summary>
public sealed record ClusterSettings
{
    public const string ClusterIdVariable = "MOBILENET_CLUSTER_ID";
    public const string ServiceIdVariable = "MOBILENET_SERVICE_ID";
    public const string GatewayVariable = "MOBILENET_GATEWAY";
    public const string TlsDirectoryVariable = "MOBILENET_TLS_DIR";
    public const string DefaultClusterId = "mobilenet-local";
    public const string DefaultServiceId = "mobilenet";

    public required StorageConnection Storage { get; init; }

    public required string ClusterId { get; init; }

    public required string ServiceId { get; init; }

    /// <summary>Static gateways; empty means "look them up in the storage account's membership table".</summary>
    public IReadOnlyList<IPEndPoint> Gateways { get; init; } = [];

    /// <summary>Folder with this client's certificate, key and the deployment's CA (<c>tls.crt</c>, <c>tls.key</c>, <c>ca.crt</c>); null only when <see cref="Insecure"/>.</summary>
    public string? TlsDirectory { get; init; }

    /// <summary>Plain TCP without a client identity (a cluster started with Tls:Insecure=true).</summary>
    public bool Insecure { get; init; }

    /// <summary>How long connecting may take before the CLI gives up (exit 2).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Where the cluster was looked for, without secrets.</summary>
    public string Describe() => Gateways.Count > 0
        ? $"cluster '{ClusterId}' via gateway {string.Join(", ", Gateways)}"
        : $"cluster '{ClusterId}' in storage account {Storage.Describe()}";

    /// <summary>Parses <c>host:port</c>, resolving a host name; throws <see cref="CliUsageException"/> saying what to fix.</summary>
    public static IPEndPoint ParseGateway(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var text = value.Trim();
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new CliUsageException($"--gateway '{value}' must be host:port with a port between 1 and 65535 (e.g. 127.0.0.1:30000)");
        }

        var host = text[..colon].Trim('[', ']');
        if (IPAddress.TryParse(host, out var address))
        {
            return new IPEndPoint(address, port);
        }

        try
        {
            var addresses = Dns.GetHostAddresses(host);
            var chosen = addresses.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? addresses.FirstOrDefault();
            return chosen is not null
                ? new IPEndPoint(chosen, port)
                : throw new CliUsageException($"--gateway '{value}': host '{host}' has no address");
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            throw new CliUsageException($"--gateway '{value}': cannot resolve host '{host}' ({ex.Message})");
        }
    }
}
