using Azure.Storage.Blobs;

namespace MobileNet.Orleans.Silo.Tests;

/// <summary>The test Azurite that scripts/test.sh starts (MOBILENET_TEST_STORAGE); tests skip with the reason when it is absent.</summary>
internal static class TestStorage
{
    public const string Variable = "MOBILENET_TEST_STORAGE";

    public static string RequireConnectionString()
    {
        var value = Environment.GetEnvironmentVariable(Variable);
        Skip.If(string.IsNullOrWhiteSpace(value), $"{Variable} is not set: run through scripts/test.sh, which starts a test Azurite and sets it.");
        return value!;
    }

    public static BlobServiceClient Blobs(string connectionString) => new(connectionString);
}
