using System.Text.RegularExpressions;

namespace MobileNet.Orleans.Contracts.Storage;

/// <summary>A location in blob storage written as <c>container/prefix</c> (prefix may be empty).</summary>
[GenerateSerializer, Immutable, Alias("mobilenet.blob-path")]
public sealed partial record BlobPath
{
    [Id(0)] public required string Container { get; init; }

    [Id(1)] public string Prefix { get; init; } = "";

    public override string ToString() => Prefix.Length == 0 ? Container : $"{Container}/{Prefix}";

    /// <summary>Parses <c>container[/prefix]</c>; throws <see cref="FormatException"/> with a reason that says what to fix.</summary>
    public static BlobPath Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var trimmed = value.Trim();
        var slash = trimmed.IndexOf('/', StringComparison.Ordinal);
        var container = slash < 0 ? trimmed : trimmed[..slash];
        var prefix = slash < 0 ? "" : trimmed[(slash + 1)..];
        if (!ContainerName().IsMatch(container) || container.Contains("--", StringComparison.Ordinal))
        {
            throw new FormatException(
                $"'{value}': container name '{container}' must be 3-63 characters of lowercase letters, digits and single hyphens, starting and ending with a letter or digit");
        }

        if (prefix.Length > 1024)
        {
            throw new FormatException($"'{value}': prefix is longer than 1024 characters");
        }

        return new BlobPath { Container = container, Prefix = prefix };
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", RegexOptions.CultureInvariant)]
    private static partial Regex ContainerName();
}
