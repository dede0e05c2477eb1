namespace MobileNet.Orleans.Contracts.Jobs;

/// <summary>Images that could not be labeled for one reason (the code of their error rows), with a few examples.</summary>
[GenerateSerializer, Immutable, Alias("mobilenet.error-class")]
public sealed record ErrorClass
{
    /// <summary>Examples kept per class: enough to find the files, bounded whatever the job's size.</summary>
    public const int MaxExamples = 3;

    /// <summary>Classes kept per job; codes are a small fixed set, this only bounds a misbehaving worker.</summary>
    public const int MaxClasses = 32;

    /// <summary>Error code (<c>corrupt-image</c>, <c>not-found</c>, <c>shard-failed</c>, ...): the part of an error row before the first colon.</summary>
    [Id(0)] public required string Code { get; init; }

    [Id(1)] public long Count { get; init; }

    /// <summary>Up to <see cref="MaxExamples"/> image names (for shard failures: the shard and its reason).</summary>
    [Id(2)] public IReadOnlyList<string> Examples { get; init; } = [];

    /// <summary>The code of an error row's text (<c>code: reason</c>); <c>error</c> when it names none.</summary>
    public static string CodeOf(string error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var colon = error.IndexOf(':', StringComparison.Ordinal);
        var code = (colon > 0 ? error[..colon] : error).Trim();
        return code.Length is > 0 and <= 64 && code.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') ? code : "error";
    }
}
