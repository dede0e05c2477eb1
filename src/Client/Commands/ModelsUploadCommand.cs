using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using MobileNet.Inference;
using MobileNet.Orleans.Client.Cluster;
using MobileNet.Orleans.Contracts.Models;

namespace MobileNet.Orleans.Client.Commands;

/// <summary>
/// <c>mobilenet models upload &lt;name&gt; --file model.onnx</c>: stores the model, its labels and description in the
/// models container (<see cref="ModelStoreLayout"/>) with their SHA-256, writing the manifest last so silos only ever
/// see a complete model.
/// </summary>
public static partial class ModelsUploadCommand
{
    /// <summary>Label files picked up beside the model when <c>--labels</c> is not given (same names the local classifier looks for).</summary>
    public static readonly IReadOnlyList<string> DefaultLabelFileNames = ["imagenet_classes.txt", "labels.txt"];

    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "model name jobs refer to (lowercase letters, digits, '.', '_', '-')" };
        var file = new Option<FileInfo>("--file", "-f") { Description = "the ONNX model file", Required = true };
        var labels = new Option<FileInfo?>("--labels") { Description = "class names, one per line (default: imagenet_classes.txt or labels.txt beside the model, if present)" };
        var description = new Option<FileInfo?>("--description")
        {
            Description = "model description JSON (input/output names, size, normalisation; default: <model file>.json beside the model, if present)",
        };
        var command = new Command("upload", "Upload a model to blob storage so cluster jobs can use it.") { name, file, labels, description };
        var storage = new StorageOption(command);
        command.SetAction(async (ParseResult parse, CancellationToken ct) =>
        {
            var request = ModelUploadRequest.Resolve(parse.GetValue(name)!, parse.GetValue(file)!, parse.GetValue(labels), parse.GetValue(description));
            var service = storage.Resolve(parse).CreateBlobServiceClient();
            var manifest = await UploadAsync(service, request, TimeProvider.System, ct);
            await parse.InvocationConfiguration.Output.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"uploaded model '{manifest.Name}' ({manifest.SizeBytes} bytes, sha256 {manifest.Sha256}){(request.Labels is null ? "" : $", labels {request.Labels.Name}")}{(request.Description is null ? "" : $", description {request.Description.Name}")}"));
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>A validated upload: the files exist, the name is usable as a blob folder, the description is JSON.</summary>
    public sealed record ModelUploadRequest(string Name, FileInfo Model, FileInfo? Labels, FileInfo? Description)
    {
        public static ModelUploadRequest Resolve(string name, FileInfo model, FileInfo? labels, FileInfo? description)
        {
            ArgumentNullException.ThrowIfNull(model);
            ValidateName(name);
            if (!model.Exists)
            {
                throw new CliUsageException($"--file '{model.FullName}' does not exist");
            }

            if (model.Length == 0)
            {
                throw new CliUsageException($"--file '{model.FullName}' is empty; give an ONNX model file");
            }

            if (labels is not null && !labels.Exists)
            {
                throw new CliUsageException($"--labels '{labels.FullName}' does not exist");
            }

            if (description is not null && !description.Exists)
            {
                throw new CliUsageException($"--description '{description.FullName}' does not exist");
            }

            var dir = model.DirectoryName ?? ".";
            description ??= new FileInfo(model.FullName + ".json") is { Exists: true } sidecar ? sidecar : null;
            string? sidecarLabels = null;
            if (description is not null)
            {
                if (description.Length > ModelDescription.MaxSidecarBytes)
                {
                    throw new CliUsageException($"--description '{description.FullName}' is larger than {ModelDescription.MaxSidecarBytes / 1024} KiB; a model description holds a few fields");
                }

                try
                {
                    using var document = JsonDocument.Parse(File.ReadAllBytes(description.FullName), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
                    if (document.RootElement.ValueKind != JsonValueKind.Object)
                    {
                        throw new CliUsageException($"--description '{description.FullName}' must hold a JSON object");
                    }

                    if (document.RootElement.TryGetProperty("labels", out var named) && named.ValueKind == JsonValueKind.String)
                    {
                        sidecarLabels = named.GetString();
                    }
                }
                catch (JsonException ex)
                {
                    throw new CliUsageException($"--description '{description.FullName}' is not valid JSON: {ex.Message}");
                }
            }

            // The description is data that silos read: the labels it names must lie inside the model's folder.
            string? sidecarLabelsPath = null;
            if (sidecarLabels is not null)
            {
                try
                {
                    sidecarLabelsPath = ModelDescription.ResolveInsideFolder(dir, sidecarLabels, $"--description '{description!.FullName}': \"labels\"");
                }
                catch (ModelDescriptionException ex)
                {
                    throw new CliUsageException(ex.Message);
                }
            }

            // Labels: the sidecar's, then <model>.labels.txt (what 'models build' writes), then the usual names.
            labels ??= new[] { sidecarLabelsPath, Path.GetFileNameWithoutExtension(model.Name) + ".labels.txt" }.Concat(DefaultLabelFileNames)
                .Where(n => !string.IsNullOrWhiteSpace(n))
                .Select(n => new FileInfo(Path.Combine(dir, n!)))
                .FirstOrDefault(f => f.Exists);
            return new ModelUploadRequest(name, model, labels, description) { ClassCount = CountClasses(model, labels, description) };
        }

        /// <summary>Classes of the model, read the way a silo will read it: the three files side by side in a folder of their own.</summary>
        public int ClassCount { get; private init; }

        private static int CountClasses(FileInfo model, FileInfo? labels, FileInfo? description)
        {
            var folder = Directory.CreateTempSubdirectory("mobilenet-model-check-");
            try
            {
                var modelCopy = Path.Combine(folder.FullName, "model.onnx");
                File.Copy(model.FullName, modelCopy);
                string? labelsCopy = null;
                if (labels is not null)
                {
                    labelsCopy = Path.Combine(folder.FullName, "labels.txt");
                    File.Copy(labels.FullName, labelsCopy);
                }

                if (description is not null)
                {
                    File.Copy(description.FullName, ModelDescription.SidecarPathFor(modelCopy));
                }

                return ModelDescription.Load(modelCopy, labelsCopy).ClassCount;
            }
            catch (ModelDescriptionException ex)
            {
                // Messages name the temporary copies; the user knows the files by the names they gave.
                throw new CliUsageException($"model '{model.FullName}' cannot be used: {ex.Message.Replace(folder.FullName + Path.DirectorySeparatorChar, "", StringComparison.Ordinal)}");
            }
            finally
            {
                folder.Delete(recursive: true);
            }
        }
    }

    public static void ValidateName(string name)
    {
        if (string.IsNullOrWhiteSpace(name) || !ModelName().IsMatch(name))
        {
            throw new CliUsageException($"model name '{name}' must be 1-64 characters of lowercase letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
    }

    /// <summary>Uploads model, labels and description by hash, then the manifest; an artifact already stored is not sent again.</summary>
    public static async Task<ModelManifest> UploadAsync(BlobServiceClient service, ModelUploadRequest request, TimeProvider clock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(clock);
        var container = service.GetBlobContainerClient(ModelStoreLayout.Container);
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);

        var sha = await Sha256Async(request.Model, cancellationToken).ConfigureAwait(false);
        // The manifest is replaced last, in one write: silos and submits see the old version or the new one, never a mix.
        var manifestBlob = container.GetBlobClient(ModelStoreLayout.ManifestBlob(request.Name));
        // Artifacts are stored by hash and never overwritten: jobs already running keep the version they pinned.
        await UploadArtifactAsync(container, request.Name, request.Model, sha, "application/octet-stream", cancellationToken).ConfigureAwait(false);
        string? labelsSha = null;
        if (request.Labels is not null)
        {
            labelsSha = await Sha256Async(request.Labels, cancellationToken).ConfigureAwait(false);
            await UploadArtifactAsync(container, request.Name, request.Labels, labelsSha, "text/plain; charset=utf-8", cancellationToken).ConfigureAwait(false);
        }

        string? descriptionSha = null;
        if (request.Description is not null)
        {
            descriptionSha = await Sha256Async(request.Description, cancellationToken).ConfigureAwait(false);
            await UploadArtifactAsync(container, request.Name, request.Description, descriptionSha, "application/json", cancellationToken).ConfigureAwait(false);
        }

        var manifest = new ModelManifest
        {
            Name = request.Name,
            Sha256 = sha,
            SizeBytes = request.Model.Length,
            LabelsSha256 = labelsSha,
            DescriptionSha256 = descriptionSha,
            ClassCount = request.ClassCount,
            UploadedAt = clock.GetUtcNow(),
        };
        await manifestBlob.UploadAsync(
            BinaryData.FromString(ModelManifestJson.Serialize(manifest)),
            new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" } },
            cancellationToken).ConfigureAwait(false);
        return manifest;
    }

    /// <summary>The manifest of <paramref name="name"/>, or null when no complete model of that name exists.</summary>
    public static async Task<ModelManifest?> FindAsync(BlobServiceClient service, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(service);
        var blob = service.GetBlobContainerClient(ModelStoreLayout.Container).GetBlobClient(ModelStoreLayout.ManifestBlob(name));
        return await TryReadManifestAsync(blob, cancellationToken).ConfigureAwait(false);
    }

    internal static async Task<ModelManifest?> TryReadManifestAsync(BlobClient blob, CancellationToken cancellationToken)
    {
        try
        {
            var content = await blob.DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            return ModelManifestJson.Deserialize(content.Value.Content.ToString());
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <summary>Writes an artifact under its hash unless it is already there (same name = same content).</summary>
    private static async Task UploadArtifactAsync(BlobContainerClient container, string model, FileInfo file, string sha, string contentType, CancellationToken cancellationToken)
    {
        var blob = container.GetBlobClient(ModelStoreLayout.ArtifactBlob(model, sha));
        if (!await blob.ExistsAsync(cancellationToken).ConfigureAwait(false))
        {
            await UploadFileAsync(blob, file, contentType, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task UploadFileAsync(BlobClient blob, FileInfo file, string contentType, CancellationToken cancellationToken)
    {
        await using var stream = file.OpenRead();
        await blob.UploadAsync(stream, new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = contentType } }, cancellationToken).ConfigureAwait(false);
    }

    internal static async Task<string> Sha256Async(FileInfo file, CancellationToken cancellationToken)
    {
        await using var stream = file.OpenRead();
        var hash = await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
        return Convert.ToHexStringLower(hash);
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex ModelName();
}
