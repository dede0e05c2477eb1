using System.Text.RegularExpressions;

namespace MobileNet.Orleans.Client.Storage;

/// <summary>Removes storage secrets (account keys, SAS signatures) from text before the CLI prints it.</summary>
public static partial class SecretRedaction
{
    public const string Mask = "***";

    public static string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = KeyValueSecret().Replace(text, m => m.Groups["name"].Value + "=" + Mask);
        return SasSignature().Replace(text, m => m.Groups["name"].Value + "=" + Mask);
    }

    // Connection-string members that carry credentials.
    [GeneratedRegex(@"(?<name>AccountKey|SharedAccessSignature|SharedAccessKey|Password)\s*=\s*[^;""'\s]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex KeyValueSecret();

    // The signature of a SAS token in a URL or query string.
    [GeneratedRegex(@"(?<name>[?&]sig)=[^&""'\s]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SasSignature();
}
