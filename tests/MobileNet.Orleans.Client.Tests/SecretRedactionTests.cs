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

    [Theory]
    [InlineData("""{"AccountKey": "c2VjcmV0S2V5MTIzNDU2Nzg5MA=="}""")]
    [InlineData("""{'accountKey':'c2VjcmV0S2V5MTIzNDU2Nzg5MA=='}""")]
    [InlineData("""AccountKey = "c2VjcmV0S2V5MTIzNDU2Nzg5MA==" """)]
    [InlineData("""{"sig":"c2VjcmV0S2V5MTIzNDU2Nzg5MA%3D"}""")]
    [InlineData("https%3A%2F%2Fa.blob.core.windows.net%2Fc%3Fsv%3D2024%26sig%3Dc2VjcmV0S2V5MTIzNDU2Nzg5MA%253D%26se%3Dx")]
    [InlineData("https%253A%252F%252Fa%252Fc%253Fsig%253Dc2VjcmV0S2V5MTIzNDU2Nzg5MA%25253D%2526se%253Dx")]
    [InlineData("DefaultEndpointsProtocol%3Dhttps%3BAccountName%3Dacct%3BAccountKey%3Dc2VjcmV0S2V5MTIzNDU2Nzg5MA%3D%3D%3BEndpointSuffix%3Dx")]
    public void Redact_QuotedOrUrlEncodedSecrets_Hidden(string text)
    {
        var redacted = SecretRedaction.Redact("request failed: " + text);

        Assert.DoesNotContain("c2VjcmV0S2V5MTIzNDU2Nzg5MA", redacted, StringComparison.Ordinal);
        Assert.Contains(SecretRedaction.Mask, redacted, StringComparison.Ordinal);
    }

    [Fact]
    public void Redact_WordsThatOnlyContainSecretNames_Untouched()
    {
        const string text = "design=blue; signature of image; password policy";

        Assert.Equal(text, SecretRedaction.Redact(text));
    }
}
