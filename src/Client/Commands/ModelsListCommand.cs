using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using MobileNet.Orleans.Client.Cluster;
using MobileNet.Orleans.Client.Terminal;
using MobileNet.Orleans.Contracts.Models;
using Spectre.Console;

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

            var console = CliConsole.For(output);
            console.Write(ToTable(models, console));
            await output.FlushAsync(ct);
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>One row per model: name, size in bytes, the first 16 hex digits of its SHA-256, whether it has labels, when it was uploaded.</summary>
    public static Table ToTable(IEnumerable<ModelManifest> models, CliConsole console)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(console);
        var table = console.CreateTable("NAME", "SIZE", "SHA256", "LABELS", "UPLOADED (UTC)");
        table.Columns[1].RightAligned();
        foreach (var m in models)
        {
            table.AddRow(
                new Text(m.Name),
                new Text(m.SizeBytes.ToString(CultureInfo.InvariantCulture)),
                new Text(m.Sha256[..Math.Min(16, m.Sha256.Length)]),
                new Text(m.LabelsSha256 is null ? "no" : "yes"),
                new Text(m.UploadedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)));
        }

        return table;
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
