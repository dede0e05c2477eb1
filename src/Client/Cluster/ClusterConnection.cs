using Azure.Core;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MobileNet.Orleans.Client.Resilience;
using MobileNet.Orleans.Client.Storage;
using MobileNet.Orleans.Security.Certificates;
using MobileNet.Orleans.Security.Hosting;
using Orleans.Configuration;
using Polly.Timeout;

namespace MobileNet.Orleans.Client.Cluster;

/// <summary>A connected Orleans client; disposing it closes the connection.</summary>
public sealed class ClusterConnection : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly TlsIdentity? _identity;

    private ClusterConnection(IHost host, ClusterSettings settings, TlsIdentity? identity)
    {
        _host = host;
        _identity = identity;
        Settings = settings;
        Client = host.Services.GetRequiredService<IClusterClient>();
    }

    public IClusterClient Client { get; }

    public ClusterSettings Settings { get; }

    /// <summary>
    /// Connects within <see cref="ClusterSettings.ConnectTimeout"/>; an unreachable cluster is a
    /// <see cref="CliUsageException"/> (exit 2) with a one-line reason, never a long hang.
    /// </summary>
    public static async Task<ClusterConnection> ConnectAsync(ClusterSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        TlsIdentity? identity = null;
        if (!settings.Insecure)
        {
            try
            {
                identity = TlsIdentity.Load(settings.TlsDirectory ?? throw new CliUsageException("no client certificate: pass --tls-dir (or --insecure for a cluster without TLS)"));
            }
            catch (CertificateException ex)
            {
                throw new CliUsageException($"--tls-dir: {ex.Message}");
            }
        }

        try
        {
            return await ClientResiliencePipelines.Connect(settings.ConnectTimeout).ExecuteAsync(
                async ct =>
                {
                    var host = BuildHost(settings, identity);
                    try
                    {
                        await host.StartAsync(ct).WaitAsync(ct).ConfigureAwait(false);
                        return new ClusterConnection(host, settings, identity);
                    }
                    catch
                    {
                        // Disposing a half-started client can wait on its connect loop: do not let that delay the next try.
                        _ = Task.Run(() => DisposeQuietlyAsync(host, null), CancellationToken.None);
                        throw;
                    }
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var reason = ex is TimeoutRejectedException ? $"no answer within {settings.ConnectTimeout.TotalSeconds:0.#} s" : OneLine(ex);
            var tls = identity is null ? "" : $" Does the cluster trust certificate '{identity.Name}' (its CA is --tls-dir's ca.crt)?";
            identity?.Dispose();
            throw new CliUsageException($"cannot reach {settings.Describe()}: {SecretRedaction.Redact(reason)}; is the cluster up (scripts/cluster.sh up) and are --storage/--cluster-id/--gateway right?{tls}");
        }
    }

    private static IHost BuildHost(ClusterSettings settings, TlsIdentity? identity)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = settings.ClusterId;
                o.ServiceId = settings.ServiceId;
            });
            if (settings.Gateways.Count > 0)
            {
                client.UseStaticClustering([.. settings.Gateways]);
            }
            else
            {
                var tables = CreateTableServiceClient(settings.Storage);
                client.UseAzureStorageClustering(o => o.TableServiceClient = tables);
            }

            // Calls from the CLI are short: a call to a silo that just died must not hang for the 30 s default.
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(15));
            client.Configure<ConnectionOptions>(o => o.OpenConnectionTimeout = TimeSpan.FromSeconds(3));
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(5));
            // Each try fails fast; ConnectAsync retries with a fresh client (ClientResiliencePipelines.Connect).
            client.UseConnectionRetryFilter(static (_, _) => Task.FromResult(false));
            if (identity is not null)
            {
                client.UseMobileNetSecurity(identity);
            }
        });

        return builder.Build();
    }

    public async ValueTask DisposeAsync()
    {
        await DisposeQuietlyAsync(_host, _identity).ConfigureAwait(false);
    }

    private static async Task DisposeQuietlyAsync(IHost host, TlsIdentity? identity)
    {
        try
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await host.StopAsync(stop.Token).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Closing a client connection must never turn a result into an error.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        host.Dispose();
        identity?.Dispose();
    }

    private static TableServiceClient CreateTableServiceClient(StorageConnection storage)
    {
        var options = new TableClientOptions
        {
            Retry =
            {
                Mode = RetryMode.Fixed,
                MaxRetries = 1,
                Delay = TimeSpan.FromMilliseconds(200),
                NetworkTimeout = TimeSpan.FromSeconds(5),
            },
        };
        return storage.CreateTableServiceClient(options);
    }

    /// <summary>The innermost useful message on one line, secrets removed (every caller prints it).</summary>
    internal static string OneLine(Exception ex)
    {
        var inner = ex;
        while (inner is AggregateException { InnerException: { } a })
        {
            inner = a;
        }

        var message = inner.Message;
        if (inner.InnerException is { } cause && !message.Contains(cause.Message, StringComparison.Ordinal))
        {
            message = $"{message} ({cause.Message})";
        }

        var firstLine = SecretRedaction.Redact(message.Split('\n', 2)[0].Trim());
        return firstLine.Length > 300 ? firstLine[..300] + "..." : firstLine;
    }
}
