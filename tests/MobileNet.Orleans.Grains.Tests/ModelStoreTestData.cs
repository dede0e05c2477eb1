using System.Security.Cryptography;
using System.Text;
using Azure.Storage.Blobs;
using MobileNet.Modeling.Architectures;
using MobileNet.Orleans.Contracts.Models;

namespace MobileNet.Orleans.Grains.Tests;

/// <summary>Writes models to the model store in the layout of <c>mobilenet models upload</c> (artifacts by hash, manifest last).</summary>
internal static class ModelStoreTestData
{
    /// <summary>The fixture's tiny model (MobileNet V1, width 0.25, 96 px, 10 classes): the same bytes every time.</summary>
    public static readonly Lazy<byte[]> TinyOnnx = new(() =>
        GeneratedModels.Bytes(new MobileNetSpec(MobileNetArchitecture.MobileNetV1, Width: 0.25, Resolution: 96, Classes: 10)));

    /// <summary>Ten class names: prefix0 .. prefix9.</summary>
    public static string Labels(string prefix) => string.Join('\n', Enumerable.Range(0, 10).Select(i => $"{prefix}{i}")) + "\n";

    public static async Task<ModelManifest> UploadAsync(BlobServiceClient blobs, string name, byte[] onnx, string? labels, string? description, int? classCount = 10)
    {
        var container = blobs.GetBlobContainerClient(ModelStoreLayout.Container);
        await container.CreateIfNotExistsAsync();
        var sha = await PutAsync(container, name, onnx);
        var labelsSha = labels is null ? null : await PutAsync(container, name, Encoding.UTF8.GetBytes(labels));
        var descriptionSha = description is null ? null : await PutAsync(container, name, Encoding.UTF8.GetBytes(description));
        var manifest = new ModelManifest
        {
            Name = name,
            Sha256 = sha,
            SizeBytes = onnx.Length,
            LabelsSha256 = labelsSha,
            DescriptionSha256 = descriptionSha,
            ClassCount = classCount,
            UploadedAt = DateTimeOffset.UtcNow,
        };
        await container.GetBlobClient(ModelStoreLayout.ManifestBlob(name)).UploadAsync(BinaryData.FromString(ModelManifestJson.Serialize(manifest)), overwrite: true);
        return manifest;
    }

    private static async Task<string> PutAsync(BlobContainerClient container, string name, byte[] content)
    {
        var sha = Convert.ToHexStringLower(SHA256.HashData(content));
        await container.GetBlobClient(ModelStoreLayout.ArtifactBlob(name, sha)).UploadAsync(BinaryData.FromBytes(content), overwrite: true);
        return sha;
    }
}
