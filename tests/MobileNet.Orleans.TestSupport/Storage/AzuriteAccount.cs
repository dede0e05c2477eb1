namespace MobileNet.Orleans.Testing.Storage;

/// <summary>Azurite's development account, for the emulators the tests start themselves.</summary>
public static class AzuriteAccount
{
    public const string Name = "devstoreaccount1";

    // Azurite's published development key: public, valid only against a local emulator.
    public const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>The connection string of an Azurite on 127.0.0.1 with these ports (queue and table optional).</summary>
    public static string ConnectionString(int blobPort, int? queuePort = null, int? tablePort = null) =>
        $"DefaultEndpointsProtocol=http;AccountName={Name};AccountKey={Key};BlobEndpoint=http://127.0.0.1:{blobPort}/{Name};" +
        (queuePort is { } queue ? $"QueueEndpoint=http://127.0.0.1:{queue}/{Name};" : "") +
        (tablePort is { } table ? $"TableEndpoint=http://127.0.0.1:{table}/{Name};" : "");
}
