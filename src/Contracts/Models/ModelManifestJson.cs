using System.Text.Json;

namespace MobileNet.Orleans.Contracts.Models;

/// <summary>The one JSON form of <see cref="ModelManifest"/> in blob storage (camelCase), written by the client and read by silos.</summary>
public static class ModelManifestJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static string Serialize(ModelManifest manifest) => JsonSerializer.Serialize(manifest, Options);

    /// <summary>Parses a manifest; throws <see cref="FormatException"/> when it is not one.</summary>
    public static ModelManifest Deserialize(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<ModelManifest>(json, Options) ?? throw new FormatException("model manifest is JSON null");
        }
        catch (JsonException ex)
        {
            throw new FormatException($"not a model manifest: {ex.Message}", ex);
        }
    }
}
