using System.Text.RegularExpressions;

namespace MobileNet.Orleans.Client.Storage;

/// <summary>
/// Removes storage secrets (account keys, SAS signatures) from text before the CLI prints it: connection-string
/// members (<c>AccountKey=...</c>), the same names quoted as in JSON (<c>"AccountKey": "..."</c>), SAS signatures in
/// URLs (<c>&amp;sig=...</c>) and the same URL-encoded once or twice (<c>%26sig%3D...</c>, <c>%2526sig%253D...</c>).
/// </summary>
public static partial class SecretRedaction
{
    public const string Mask = "***";

    public static string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = EncodedSecret().Replace(text, m => m.Groups["name"].Value + m.Groups["eq"].Value + Mask);
        return PlainSecret().Replace(text, m => m.Groups["name"].Value + m.Groups["sep"].Value + Mask + m.Groups["close"].Value);
    }

    // Credential members and the SAS signature, as key=value or "key": "value" (quotes optional on either side); the
    // name must be a whole word, so "design=" is left alone.
    [GeneratedRegex(@"(?<![A-Za-z0-9_])(?<name>AccountKey|SharedAccessSignature|SharedAccessKey|Password|sig)(?<sep>[""']?\s*[=:]\s*)(?<open>[""']?)(?<value>(?(open)[^""']+|[^;&""'\s,}]+))(?<close>[""']?)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex PlainSecret();

    // The same inside a URL-encoded string: the name after an encoded separator ('?', '&', ';'), then an encoded '='.
    [GeneratedRegex(@"(?<name>(?:%3F|%26|%3B|%253F|%2526|%253B)(?:sig|AccountKey|SharedAccessSignature|SharedAccessKey|Password))(?<eq>%3D|%253D)(?<value>(?:(?!%26|%3B|%2526|%253B)[^&;""'\s])+)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex EncodedSecret();
}
