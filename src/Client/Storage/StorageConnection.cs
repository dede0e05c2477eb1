using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;

namespace MobileNet.Orleans.Client.Storage;

/// <summary>
/// The storage account the CLI talks to: <c>--storage</c>, else <c>MOBILENET_STORAGE</c> (connection strings), else
/// <c>MOBILENET_STORAGE_ACCOUNT</c> (an account name reached with Azure identity, <see cref="DefaultAzureCredential"/>:
/// workload identity, managed identity, az login; no secret at all), else the local Azurite development account.
/// A connection string is a secret: it is never printed; <see cref="Describe"/> names the account and endpoint only.
/// </summary>
public sealed class StorageConnection
{
    public const string EnvironmentVariable = "MOBILENET_STORAGE";

    /// <summary>Account name for Azure identity access (the silo reads the same variable).</summary>
    public const string AccountVariable = "MOBILENET_STORAGE_ACCOUNT";

    /// <summary>Azurite's well-known development account on 127.0.0.1:10000-10002.</summary>
    public const string LocalDevelopment = "UseDevelopmentStorage=true";

    private TokenCredential? credential;

    private StorageConnection(string? connectionString, string? accountName, string source)
    {
        ConnectionString = connectionString;
        AccountName = accountName;
        Source = source;
    }

    /// <summary>The connection string; null when the account is reached with Azure identity.</summary>
    public string? ConnectionString { get; }

    /// <summary>The account reached with Azure identity; null for a connection string.</summary>
    public string? AccountName { get; }

    /// <summary>Where the connection came from (option, environment, default), for messages.</summary>
    public string Source { get; }

    public static StorageConnection Resolve(string? option) => Resolve(option, Environment.GetEnvironmentVariable);

    /// <summary>As <see cref="Resolve(string?)"/>, reading variables through <paramref name="environment"/> (tests).</summary>
    public static StorageConnection Resolve(string? option, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (!string.IsNullOrWhiteSpace(option))
        {
            return new StorageConnection(option.Trim(), null, "--storage");
        }

        var env = environment(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env))
        {
            return new StorageConnection(env.Trim(), null, EnvironmentVariable);
        }

        var account = environment(AccountVariable)?.Trim();
        if (!string.IsNullOrEmpty(account))
        {
            // Storage account names: 3-24 lowercase letters and digits (so the endpoint below is well formed).
            if (account.Length is < 3 or > 24 || !account.All(c => char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c)))
            {
                throw new CliUsageException($"{AccountVariable} '{account}' is not a storage account name (3-24 lowercase letters and digits)");
            }

            return new StorageConnection(null, account, $"{AccountVariable} (Azure identity)");
        }

        return new StorageConnection(LocalDevelopment, null, "local Azurite (default)");
    }

    public BlobServiceClient CreateBlobServiceClient()
    {
        if (AccountName is not null)
        {
            return new BlobServiceClient(new Uri($"https://{AccountName}.blob.core.windows.net"), Credential(), BlobOptions());
        }

        try
        {
            return new BlobServiceClient(ConnectionString, BlobOptions());
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or UriFormatException)
        {
            throw new CliUsageException($"the storage connection string from {Source} is not valid ({SecretRedaction.Redact(ex.Message)}); give an Azure Storage connection string");
        }
    }

    /// <summary>The account's table service (Orleans membership lives there).</summary>
    public TableServiceClient CreateTableServiceClient(TableClientOptions options)
    {
        if (AccountName is not null)
        {
            return new TableServiceClient(new Uri($"https://{AccountName}.table.core.windows.net"), Credential(), options);
        }

        try
        {
            return new TableServiceClient(ConnectionString, options);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or UriFormatException)
        {
            throw new CliUsageException($"the storage connection string from {Source} is not valid ({SecretRedaction.Redact(ex.Message)})");
        }
    }

    /// <summary>Account and blob endpoint, without credentials.</summary>
    public string Describe()
    {
        if (AccountName is not null)
        {
            return $"{AccountName} at https://{AccountName}.blob.core.windows.net (Azure identity)";
        }

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

    private TokenCredential Credential() => credential ??= new DefaultAzureCredential();

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
