using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using MobileNet.Orleans.Client.Cluster;
using MobileNet.Orleans.Contracts.Models;

namespace MobileNet.Orleans.Client.Commands;

/// <summary><c>mobilenet models list</c>: the complete models (those with a manifest) in the models container.</summary>
public static class ModelsListCommand
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "print a JSON array of manifests instead of a table" };
        var command = new Command("list", "List the models uploaded to blob storage.") { json };
        var storage = new StorageOption(command);
        command.SetAction(async (ParseResult parse, CancellationToken ct) =>
        {
            var service = storage.Resolve(parse).CreateBlobServiceClient();
            var models = await ListAsync(service, ct);
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(models, Json));
                return ExitCodes.Success;
            }

            if (models.Count == 0)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync("no models uploaded yet: mobilenet models upload <name> --file <model.onnx>");
                return ExitCodes.Success;
            }

            await output.WriteLineAsync($"{"NAME",-24} {"SIZE",12} {"SHA256",-16} {"LABELS",-6} {"UPLOADED (UTC)",-19}");
            foreach (var m in models)
            {
                await output.WriteLineAsync(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{m.Name,-24} {m.SizeBytes,12} {m.Sha256[..Math.Min(16, m.Sha256.Length)],-16} {(m.LabelsSha256 is null ? "no" : "yes"),-6} {m.UploadedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}"));
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Every model with a readable manifest, by name; incomplete uploads (no manifest yet) are left out.</summary>
    public static async Task<IReadOnlyList<ModelManifest>> ListAsync(BlobServiceClient service, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(service);
        var container = service.GetBlobContainerClient(ModelStoreLayout.Container);
        var models = new List<ModelManifest>();
        try
        {
            await foreach (var blob in container.GetBlobsAsync(new GetBlobsOptions(), cancellationToken).ConfigureAwait(false))
            {
                var slash = blob.Name.IndexOf('/', StringComparison.Ordinal);
                if (slash <= 0 || blob.Name != ModelStoreLayout.ManifestBlob(blob.Name[..slash]))
                {
                    continue;
                }

                if (await ModelsUploadCommand.TryReadManifestAsync(container.GetBlobClient(blob.Name), cancellationToken).ConfigureAwait(false) is { } manifest)
                {
                    models.Add(manifest);
                }
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No models container yet: no models.
        }

        models.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return models;
    }
}
