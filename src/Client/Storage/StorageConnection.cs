using Azure.Core;
using Azure.Storage.Blobs;

namespace MobileNet.Orleans.Client.Storage;

/// <summary>
/// The storage account the CLI talks to: <c>--storage</c>, else <c>MOBILENET_STORAGE</c>, else the local Azurite
/// development account. The connection string is a secret: it is never printed; <see cref="Describe"/> names the
/// account and endpoint only.
/// </summary>
public sealed class StorageConnection
{
    public const string EnvironmentVariable = "MOBILENET_STORAGE";

    /// <summary>Azurite's well-known development account on 127.0.0.1:10000-10002.</summary>
    public const string LocalDevelopment = "UseDevelopmentStorage=true";

    private StorageConnection(string connectionString, string source)
    {
        ConnectionString = connectionString;
        Source = source;
    }

    public string ConnectionString { get; }

    /// <summary>Where the connection came from (option, environment, default), for messages.</summary>
    public string Source { get; }

    public static StorageConnection Resolve(string? option)
    {
        if (!string.IsNullOrWhiteSpace(option))
        {
            return new StorageConnection(option.Trim(), "--storage");
        }

        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        return !string.IsNullOrWhiteSpace(env)
            ? new StorageConnection(env.Trim(), EnvironmentVariable)
            : new StorageConnection(LocalDevelopment, "local Azurite (default)");
    }

    public BlobServiceClient CreateBlobServiceClient()
    {
        try
        {
            return new BlobServiceClient(ConnectionString, BlobOptions());
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or UriFormatException)
        {
            throw new CliUsageException($"the storage connection string from {Source} is not valid ({SecretRedaction.Redact(ex.Message)}); give an Azure Storage connection string");
        }
    }

    /// <summary>Account and blob endpoint, without credentials.</summary>
    public string Describe()
    {
        try
        {
            var client = new BlobServiceClient(ConnectionString, BlobOptions());
            return $"{client.AccountName} at {client.Uri.GetLeftPart(UriPartial.Authority)}";
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or UriFormatException)
        {
            return $"an invalid connection string from {Source}";
        }
    }

    // Few, short retries: the CLI is interactive, and an unreachable account must fail within seconds.
    private static BlobClientOptions BlobOptions() => new()
    {
        Retry =
        {
            Mode = RetryMode.Exponential,
            MaxRetries = 2,
            Delay = TimeSpan.FromMilliseconds(200),
            MaxDelay = TimeSpan.FromSeconds(2),
            NetworkTimeout = TimeSpan.FromSeconds(100),
        },
    };
}
