using Azure.Storage.Blobs;

namespace MobileNet.Orleans.Testing.Storage;

/// <summary>The test Azurite that scripts/test.sh starts and names in MOBILENET_TEST_STORAGE; tests that need it skip, saying why, without it.</summary>
public static class TestStorage
{
    public const string Variable = "MOBILENET_TEST_STORAGE";

    /// <summary>The reason a storage test skips here, or null when the test storage is configured.</summary>
    public static string? SkipReason =>
        string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Variable))
            ? $"No test storage: set {Variable} to an Azurite connection string (scripts/test.sh and scripts/reliability.sh start one and set it)."
            : null;

    /// <summary>The connection string; skips the calling test when there is none.</summary>
    public static string RequireConnectionString()
    {
        Skip.If(SkipReason is not null, SkipReason);
        return Environment.GetEnvironmentVariable(Variable)!;
    }

    /// <summary>A client of the test storage that gives up quickly (a test must not hang on a stopped emulator).</summary>
    public static BlobServiceClient CreateService() =>
        new(RequireConnectionString(), new BlobClientOptions { Retry = { MaxRetries = 1, Delay = TimeSpan.FromMilliseconds(100) } });

    /// <summary>A fresh id usable as container name, ClusterId, ServiceId and job id (lowercase, at most 28 characters).</summary>
    public static string NewId(string purpose) => $"t-{purpose}-{Guid.NewGuid():N}"[..28].TrimEnd('-');

    /// <summary>A container name no other test (or earlier run) uses.</summary>
    public static string UniqueContainer(string purpose)
    {
        var name = $"t-{purpose}-{Guid.NewGuid():N}";
        return name[..Math.Min(40, name.Length)].TrimEnd('-');
    }
}
