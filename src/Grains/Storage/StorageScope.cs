using Microsoft.Extensions.Options;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Models;
using MobileNet.Orleans.Contracts.Storage;

namespace MobileNet.Orleans.Grains.Storage;

/// <summary>
/// Where jobs may read images from and write results to (section <c>StorageScope</c>). The silos read and write with
/// their own storage identity, so without this a user who may submit could make them read another team's container
/// or write into the service's own state (a confused deputy). Each entry is <c>container</c>, <c>container/prefix</c>
/// or a container name pattern ending in <c>*</c> (<c>team-a-*</c>); the service's own containers are never allowed.
/// </summary>
public sealed class StorageScopeOptions
{
    public const string SectionName = "StorageScope";

    /// <summary>Where job sources (images and <c>--manifest</c> blobs) may be.</summary>
    public List<string> Read { get; set; } = [];

    /// <summary>Where job outputs (results, shard manifests, summaries) may be written.</summary>
    public List<string> Write { get; set; } = [];

    /// <summary>
    /// Sources whose blobs <c>--tag-blobs</c> jobs may write index tags onto. Tagging changes a blob in a container jobs
    /// otherwise only read, so it is a separate grant, empty (no tagging anywhere) unless the operator names it.
    /// </summary>
    public List<string> Tag { get; set; } = [];

    /// <summary>The service's own containers (grain state and the like), refused for every job; the model store is always among them.</summary>
    public List<string> ServiceContainers { get; set; } = [];
}

/// <summary>Checks <see cref="StorageScopeOptions"/> on start: every entry parses and none names a service container.</summary>
public sealed class StorageScopeOptionsValidator : IValidateOptions<StorageScopeOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageScopeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        foreach (var (list, what) in new[] { (options.Read, "Read"), (options.Write, "Write"), (options.Tag, "Tag") })
        {
            if (list.Count == 0 && what != "Tag")
            {
                failures.Add($"StorageScope:{what} must name at least one container (or container/prefix) jobs may {(what == "Read" ? "read images from" : "write results to")}");
            }

            foreach (var entry in list)
            {
                try
                {
                    var parsed = StorageScopeEntry.Parse(entry);
                    if (StorageScope.ServiceContainersOf(options).FirstOrDefault(parsed.MatchesContainer) is { } service)
                    {
                        failures.Add($"StorageScope:{what} entry '{entry}' covers the service container '{service}', which jobs may never use");
                    }
                }
                catch (FormatException ex)
                {
                    failures.Add($"StorageScope:{what} entry '{entry}': {ex.Message}");
                }
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>One allowed location: a container (or container name pattern) and a folder prefix inside it ("" = all of it).</summary>
public sealed record StorageScopeEntry(string Container, bool IsPattern, string Prefix)
{
    public static StorageScopeEntry Parse(string entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var trimmed = entry.Trim();
        var slash = trimmed.IndexOf('/', StringComparison.Ordinal);
        var container = slash < 0 ? trimmed : trimmed[..slash];
        var prefix = slash < 0 ? "" : trimmed[(slash + 1)..];
        var isPattern = container.EndsWith('*');
        if (isPattern)
        {
            container = container[..^1];
            if (container.Length < 2 || container.Contains('*', StringComparison.Ordinal) || !container.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            {
                throw new FormatException("a container pattern is at least two lowercase letters, digits or hyphens followed by one '*' (e.g. team-a-*)");
            }
        }
        else
        {
            _ = BlobPath.Parse(container);
        }

        if (!JobSpecValidation.IsSafeBlobPath(prefix, allowEmpty: true) || prefix.Contains('*', StringComparison.Ordinal))
        {
            throw new FormatException("the prefix must not contain '*', '.' or '..' segments, backslashes or control characters");
        }

        // Folder semantics: "photos/set1" covers "photos/set1/...", never "photos/set10/...".
        prefix = prefix.Trim('/');
        return new StorageScopeEntry(container, isPattern, prefix.Length == 0 ? "" : prefix + "/");
    }

    public bool MatchesContainer(string container) =>
        IsPattern ? container.StartsWith(Container, StringComparison.Ordinal) : container == Container;

    /// <summary>True when <paramref name="path"/> (a prefix or blob name in <paramref name="container"/>) lies inside this entry.</summary>
    public bool Covers(string container, string path) =>
        MatchesContainer(container) && (Prefix.Length == 0 || path.StartsWith(Prefix, StringComparison.Ordinal));

    public override string ToString() => (IsPattern ? Container + "*" : Container) + (Prefix.Length == 0 ? "" : "/" + Prefix.TrimEnd('/'));
}

/// <summary>
/// The storage scope rules the coordinator applies to every job before it touches storage, so the answer is the same
/// whether or not a refused container exists.
/// </summary>
public sealed class StorageScope
{
    private readonly IReadOnlyList<StorageScopeEntry> read;
    private readonly IReadOnlyList<StorageScopeEntry> write;
    private readonly IReadOnlyList<StorageScopeEntry> tag;
    private readonly IReadOnlySet<string> service;

    public StorageScope(IOptions<StorageScopeOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        read = settings.Read.Select(StorageScopeEntry.Parse).ToArray();
        write = settings.Write.Select(StorageScopeEntry.Parse).ToArray();
        tag = settings.Tag.Select(StorageScopeEntry.Parse).ToArray();
        service = ServiceContainersOf(settings).ToHashSet(StringComparer.Ordinal);
    }

    internal static IEnumerable<string> ServiceContainersOf(StorageScopeOptions options) =>
        options.ServiceContainers.Append(ModelStoreLayout.Container).Distinct(StringComparer.Ordinal);

    /// <summary>Throws <see cref="ArgumentException"/> with a one-line reason when the job reads or writes outside the scope.</summary>
    public void Check(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        RefuseServiceContainer(spec.Source.Container, "source");
        RefuseServiceContainer(spec.Output.Container, "output");
        if (spec.ManifestBlob is { } manifest)
        {
            if (!CanRead(spec.Source.Container, manifest))
            {
                throw new ArgumentException($"manifest '{spec.Source.Container}/{manifest}' is outside the storage scope jobs may read ({Describe(read)})");
            }
        }
        else if (!CanRead(spec.Source.Container, spec.Source.Prefix))
        {
            throw new ArgumentException($"source '{spec.Source}' is outside the storage scope jobs may read ({Describe(read)})");
        }

        var folder = spec.Output.Prefix.Trim('/');
        if (!write.Any(e => e.Covers(spec.Output.Container, folder.Length == 0 ? "" : folder + "/")))
        {
            throw new ArgumentException($"output '{spec.Output}' is outside the storage scope jobs may write ({Describe(write)})");
        }

        if (spec.TagBlobs && !CanTag(spec.Source.Container, spec.Source.Prefix))
        {
            throw new ArgumentException(tag.Count == 0
                ? $"--tag-blobs: this cluster lets no job write tags onto source blobs (StorageScope:Tag is empty)"
                : $"--tag-blobs: source '{spec.Source}' is outside the storage scope jobs may tag (StorageScope:Tag, {Describe(tag)})");
        }
    }

    /// <summary>Whether a job may write index tags onto source blobs under this container/prefix.</summary>
    public bool CanTag(string container, string prefix) => !service.Contains(container) && tag.Any(e => e.Covers(container, prefix));

    /// <summary>Whether an image (or manifest) blob name may be read by a job.</summary>
    public bool CanRead(string container, string name) => !service.Contains(container) && read.Any(e => e.Covers(container, name));

    private void RefuseServiceContainer(string container, string what)
    {
        if (service.Contains(container))
        {
            throw new ArgumentException($"{what} container '{container}' belongs to the service itself (job state, registry or models); jobs may not use it");
        }
    }

    private static string Describe(IReadOnlyList<StorageScopeEntry> entries) => "allowed: " + string.Join(", ", entries);
}
