using Azure.Data.Tables;
using MobileNet.Orleans.Client.Storage;

namespace MobileNet.Orleans.Client.Tests;

/// <summary>Where the CLI's storage comes from: option, connection-string variable, Azure identity account, local default.</summary>
public sealed class StorageConnectionTests
{
    private const string Key = "c2VjcmV0LWtleS1ub3QtcmVhbA==";
    private const string ConnectionString = "DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey=" + Key + ";EndpointSuffix=core.windows.net";

    [Fact]
    public void Resolve_AccountVariableOnly_UsesAzureIdentityEndpoints()
    {
        var storage = StorageConnection.Resolve(null, Environment(account: "prodimages01"));

        Assert.Null(storage.ConnectionString);
        Assert.Equal("prodimages01", storage.AccountName);
        Assert.Equal(new Uri("https://prodimages01.blob.core.windows.net/"), storage.CreateBlobServiceClient().Uri);
        Assert.Equal(new Uri("https://prodimages01.table.core.windows.net/"), storage.CreateTableServiceClient(new TableClientOptions()).Uri);
        Assert.Contains("Azure identity", storage.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_ConnectionStringVariableAndAccount_ConnectionStringWins()
    {
        var storage = StorageConnection.Resolve(null, Environment(connection: ConnectionString, account: "prodimages01"));

        Assert.Equal(ConnectionString, storage.ConnectionString);
        Assert.Null(storage.AccountName);
        Assert.Equal(StorageConnection.EnvironmentVariable, storage.Source);
    }

    [Fact]
    public void Resolve_OptionGiven_OptionWinsOverEnvironment()
    {
        var storage = StorageConnection.Resolve(ConnectionString, Environment(connection: "UseDevelopmentStorage=true", account: "prodimages01"));

        Assert.Equal("--storage", storage.Source);
        Assert.Equal(ConnectionString, storage.ConnectionString);
    }

    [Fact]
    public void Resolve_NothingSet_LocalAzurite()
    {
        var storage = StorageConnection.Resolve(null, Environment());

        Assert.Equal(StorageConnection.LocalDevelopment, storage.ConnectionString);
    }

    [Theory]
    [InlineData("Upper-Case")]
    [InlineData("ab")]
    [InlineData("evil.example.com/x")]
    public void Resolve_AccountNameNotAStorageAccount_UsageError(string account)
    {
        var error = Assert.Throws<CliUsageException>(() => StorageConnection.Resolve(null, Environment(account: account)));

        Assert.Contains(StorageConnection.AccountVariable, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_ConnectionString_NamesAccountNeverTheKey()
    {
        var described = StorageConnection.Resolve(ConnectionString, Environment()).Describe();

        Assert.Contains("acct1", described, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, described, StringComparison.Ordinal);
    }

    private static Func<string, string?> Environment(string? connection = null, string? account = null) => name => name switch
    {
        StorageConnection.EnvironmentVariable => connection,
        StorageConnection.AccountVariable => account,
        _ => null,
    };
}
