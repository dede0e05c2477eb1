using MobileNet.Orleans.Client.Storage;

namespace MobileNet.Orleans.Client.Tests;

public sealed class SecretRedactionTests
{
    [Fact]
    public void Redact_ConnectionString_HidesAccountKeyAndKeepsEndpoints()
    {
        var text = "failed for DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0S2V5MTIzNDU2Nzg5MA==;EndpointSuffix=core.windows.net";

        var redacted = SecretRedaction.Redact(text);

        Assert.DoesNotContain("c2VjcmV0S2V5MTIzNDU2Nzg5MA", redacted, StringComparison.Ordinal);
        Assert.Contains("AccountKey=***", redacted, StringComparison.Ordinal);
        Assert.Contains("AccountName=acct", redacted, StringComparison.Ordinal);
    }

    [Fact]
    public void Redact_SasUrlAndSasConnectionString_HidesSignatures()
    {
        var text = "GET https://a.blob.core.windows.net/c?sv=2024&sig=abc%2Bdef&se=x and SharedAccessSignature=sv=1&sig=zzz";

        var redacted = SecretRedaction.Redact(text);

        Assert.DoesNotContain("abc%2Bdef", redacted, StringComparison.Ordinal);
        Assert.DoesNotContain("zzz", redacted, StringComparison.Ordinal);
        Assert.Contains("&sig=***", redacted, StringComparison.Ordinal);
    }
}
