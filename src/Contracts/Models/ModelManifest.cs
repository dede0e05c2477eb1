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
}

/// <summary>Where models live in blob storage; the client writes this layout and silos read it.</summary>
public static class ModelStoreLayout
{
    public const string Container = "mobilenet-models";

    public static string ModelBlob(string name) => $"{name}/model.onnx";

    public static string LabelsBlob(string name) => $"{name}/labels.txt";

    /// <summary>The model description sidecar (same JSON as <c>&lt;model&gt;.json</c> next to a local model).</summary>
    public static string DescriptionBlob(string name) => $"{name}/model.json";

    /// <summary>Written last by an upload, so a model is visible only when complete.</summary>
    public static string ManifestBlob(string name) => $"{name}/manifest.json";
}
