namespace MobileNet.Orleans.Contracts.Models;

/// <summary>What <c>mobilenet models upload</c> records about a model; silos verify the SHA-256 before loading.</summary>
[GenerateSerializer, Immutable, Alias("mobilenet.model-manifest")]
public sealed record ModelManifest
{
    [Id(0)] public required string Name { get; init; }

    /// <summary>Lowercase hex SHA-256 of the ONNX file.</summary>
    [Id(1)] public required string Sha256 { get; init; }

    [Id(2)] public required long SizeBytes { get; init; }

    [Id(3)] public string? LabelsSha256 { get; init; }

    [Id(4)] public string? DescriptionSha256 { get; init; }

    [Id(5)] public DateTimeOffset UploadedAt { get; init; }

    /// <summary>Classes the model outputs (after any label offset), as <c>models upload</c> read them; null in manifests written before it recorded them.</summary>
    [Id(6)] public int? ClassCount { get; init; }

    /// <summary>The exact version of this model a job uses: every artifact's hash, pinned at submit.</summary>
    public PinnedModel Pin() => new()
    {
        Name = Name,
        Sha256 = Sha256.ToLowerInvariant(),
        SizeBytes = SizeBytes,
        LabelsSha256 = LabelsSha256?.ToLowerInvariant(),
        DescriptionSha256 = DescriptionSha256?.ToLowerInvariant(),
        ClassCount = ClassCount,
    };
}

/// <summary>
/// One version of a model, pinned in a job when it is submitted and carried in every lease: silos load exactly these
/// artifacts (by hash) or fail the shard, so a re-upload of the model mid-job never changes that job's results.
/// </summary>
[GenerateSerializer, Immutable, Alias("mobilenet.pinned-model")]
public sealed record PinnedModel
{
    [Id(0)] public required string Name { get; init; }

    /// <summary>Lowercase hex SHA-256 of the ONNX file; results rows and <c>summary.json</c> name it.</summary>
    [Id(1)] public required string Sha256 { get; init; }

    [Id(2)] public long SizeBytes { get; init; }

    [Id(3)] public string? LabelsSha256 { get; init; }

    [Id(4)] public string? DescriptionSha256 { get; init; }

    /// <summary>Classes of the model; null when its manifest did not record them (checked by the silo once loaded).</summary>
    [Id(5)] public int? ClassCount { get; init; }
}

/// <summary>Where models live in blob storage; the client writes this layout and silos read it.</summary>
public static class ModelStoreLayout
{
    public const string Container = "mobilenet-models";

    /// <summary>
    /// An artifact (ONNX file, labels, description) by its SHA-256: written once and never overwritten, so every
    /// version a job pinned stays loadable while the model is re-uploaded.
    /// </summary>
    public static string ArtifactBlob(string name, string sha256) => $"{name}/artifacts/{sha256.ToLowerInvariant()}";

    /// <summary>Where uploads before content addressing kept the ONNX file (read by silos only as a fallback, hash-checked).</summary>
    public static string ModelBlob(string name) => $"{name}/model.onnx";

    /// <inheritdoc cref="ModelBlob"/>
    public static string LabelsBlob(string name) => $"{name}/labels.txt";

    /// <summary>The model description sidecar (same JSON as <c>&lt;model&gt;.json</c> next to a local model), legacy location.</summary>
    public static string DescriptionBlob(string name) => $"{name}/model.json";

    /// <summary>Written last by an upload, so a model is visible only when complete.</summary>
    public static string ManifestBlob(string name) => $"{name}/manifest.json";
}
