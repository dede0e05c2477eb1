using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;

namespace MobileNet.Orleans.Silo.Hosting;

/// <summary>
/// The one storage account of the cluster (clustering, grain state, reminders, images, models, results), from the
/// environment only so that secrets never appear on command lines:
/// <c>MOBILENET_STORAGE</c> = a connection string, or <c>MOBILENET_STORAGE_ACCOUNT</c> = an account name reached
/// with Azure identity (<see cref="DefaultAzureCredential"/>, e.g. workload identity); default: local Azurite.
/// The connection string is never logged; <see cref="Describe"/> names only the endpoint.
/// </summary>
public sealed class StorageSettings
{
    public const string ConnectionStringVariable = "MOBILENET_STORAGE";
    public const string AccountVariable = "MOBILENET_STORAGE_ACCOUNT";

    /// <summary>Azurite's published development account on its default ports (public, valid only against a local emulator).</summary>
    public const string LocalAzurite =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
        "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;" +
        "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;";

    private readonly string? connectionString;
    private readonly string? account;
    private readonly DefaultAzureCredential? credential;

    private StorageSettings(string? connectionString, string? account)
    {
        this.connectionString = connectionString;
        this.account = account;
        credential = account is null ? null : new DefaultAzureCredential();
    }

    public static StorageSettings FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var connection = configuration[ConnectionStringVariable];
        var account = configuration[AccountVariable];
        if (!string.IsNullOrWhiteSpace(connection))
        {
            return new StorageSettings(connection.Trim(), null);
        }

        return !string.IsNullOrWhiteSpace(account)
            ? new StorageSettings(null, account.Trim())
            : new StorageSettings(LocalAzurite, null);
    }

    public BlobServiceClient CreateBlobServiceClient(BlobClientOptions? options = null) =>
        connectionString is not null
            ? new BlobServiceClient(connectionString, options)
            : new BlobServiceClient(new Uri($"https://{account}.blob.core.windows.net"), credential, options);

    public TableServiceClient CreateTableServiceClient() =>
        connectionString is not null
            ? new TableServiceClient(connectionString)
            : new TableServiceClient(new Uri($"https://{account}.table.core.windows.net"), credential);

    /// <summary>Where the data lives, without secrets.</summary>
    public string Describe() => CreateBlobServiceClient().Uri.GetLeftPart(UriPartial.Path) + (account is null ? " (connection string)" : " (Azure identity)");
}
