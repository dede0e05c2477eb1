using System.CommandLine;
using System.Globalization;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using MobileNet.Orleans.Client.Cluster;
using MobileNet.Orleans.Client.Storage;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Labels;
using MobileNet.Orleans.Contracts.Storage;

namespace MobileNet.Orleans.Client.Commands;

/// <summary>
/// <c>mobilenet find --label tabby [--min-score 0.8] [--source container/prefix]</c>: the blobs a <c>--tag-blobs</c>
/// job labeled so, found by their index tags (Find Blobs by Tags) with the user's own storage credentials; prints
/// <c>container/name</c> per line, bare names with <c>--manifest</c>, or writes them as a manifest blob for another job.
/// </summary>
public static class FindCommand
{
    public static Command Create()
    {
        var label = new Option<string>("--label") { Description = "top-1 label to look for (mapped as the tags store it: lowercase, characters other than letters, digits, space and + - . / : = _ become _)", Required = true };
        var minScore = new Option<string?>("--min-score") { Description = "only blobs whose top-1 score is at least this (0..1, two decimals at most: tags store scores in steps of 0.01)" };
        var source = new Option<string?>("--source") { Description = "only blobs under this container/prefix (default: the whole account)" };
        var model = new Option<string?>("--model") { Description = "only blobs labeled by this model name" };
        var job = new Option<string?>("--job") { Description = "only blobs labeled by this job" };
        var manifest = new Option<bool>("--manifest") { Description = "print bare blob names (a --manifest for a job over the --source container)" };
        var writeManifest = new Option<string?>("--write-manifest") { Description = "write the names as a manifest blob at this name in the --source container (for 'submit --manifest')" };
        var command = new Command("find", "Find blobs by the labels a --tag-blobs job wrote onto them.") { label, minScore, source, model, job, manifest, writeManifest };
        var storage = new StorageOption(command);
        command.SetAction(async (ParseResult parse, CancellationToken ct) =>
        {
            var query = FindQuery.Build(parse.GetValue(label), parse.GetValue(minScore), parse.GetValue(model), parse.GetValue(job));
            var where = parse.GetValue(source) is { } s ? BlobPaths.ParseOption("--source", s) : null;
            var manifestBlob = parse.GetValue(writeManifest);
            if ((parse.GetValue(manifest) || manifestBlob is not null) && where is null)
            {
                throw new CliUsageException("--manifest and --write-manifest need --source container[/prefix]: a manifest names blobs of one container");
            }

            if (manifestBlob is not null && !JobSpecValidation.IsSafeBlobPath(manifestBlob.Trim(), allowEmpty: false))
            {
                throw new CliUsageException($"--write-manifest '{manifestBlob}' must be a blob name without '.' or '..' segments, backslashes or control characters");
            }

            var service = storage.Resolve(parse).CreateBlobServiceClient();
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var bare = parse.GetValue(manifest) || manifestBlob is not null;
            var names = new StringBuilder();
            long found = 0;
            try
            {
                await foreach (var item in FindAsync(service, where, query, ct))
                {
                    found++;
                    if (manifestBlob is not null)
                    {
                        names.Append(item.BlobName).Append('\n');
                    }
                    else
                    {
                        await output.WriteLineAsync(bare ? item.BlobName : $"{item.BlobContainerName}/{item.BlobName}");
                    }
                }
            }
            catch (RequestFailedException ex) when (ex.Status is 403 or 404)
            {
                throw new CliUsageException($"find: storage refused the tag query ({ex.Status} {ex.ErrorCode}): the credentials need permission to filter blobs by tags{(where is null ? "" : $" in '{where.Container}'")}");
            }

            if (manifestBlob is not null)
            {
                var blob = service.GetBlobContainerClient(where!.Container).GetBlobClient(manifestBlob.Trim());
                await blob.UploadAsync(BinaryData.FromString(names.ToString()), overwrite: true, ct);
                await output.WriteLineAsync(blob.Name);
                await error.WriteLineAsync($"wrote {found} name(s) to {where.Container}/{blob.Name}; label them with: mobilenet submit --source {where.Container} --manifest {blob.Name} --model <name>");
            }
            else
            {
                await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{found} blob(s) match {query}"));
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static async IAsyncEnumerable<TaggedBlobItem> FindAsync(BlobServiceClient service, BlobPath? where, string query, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (where is null)
        {
            await foreach (var item in service.FindBlobsByTagsAsync(query, cancellationToken))
            {
                yield return item;
            }

            yield break;
        }

        var prefix = BlobPaths.FolderPrefix(where);
        await foreach (var item in service.GetBlobContainerClient(where.Container).FindBlobsByTagsAsync(query, cancellationToken))
        {
            if (item.BlobName.StartsWith(prefix, StringComparison.Ordinal))
            {
                yield return item;
            }
        }
    }
}

/// <summary>Builds the tag filter of <c>mobilenet find</c> with the same mapping the workers use to write the tags.</summary>
public static class FindQuery
{
    public static string Build(string? label, string? minScore, string? model, string? job)
    {
        if (string.IsNullOrWhiteSpace(label))
        {
            throw new CliUsageException("--label needs a label name (e.g. tabby)");
        }

        var terms = new List<string> { $"\"{BlobLabelTags.LabelKey}\" = '{BlobLabelTags.Value(label.Trim())}'" };
        if (minScore is not null)
        {
            var score = SubmitDataOptions.ParseFraction("--min-score", minScore);
            var bucket = BlobLabelTags.ScoreBucket(score!.Value);
            if (decimal.Parse(bucket, CultureInfo.InvariantCulture) != Math.Round((decimal)score.Value, 4))
            {
                throw new CliUsageException($"--min-score {minScore}: give at most two decimals (tags store scores in steps of 0.01)");
            }

            terms.Add($"\"{BlobLabelTags.ScoreKey}\" >= '{bucket}'");
        }

        if (model is not null)
        {
            if (!JobSpecValidation.IsValidModelName(model))
            {
                throw new CliUsageException($"--model '{model}' is not a model name");
            }

            // The tag is name:sha8; every value starting "name:" sorts between "name:" and "name;" (';' follows ':').
            terms.Add($"\"{BlobLabelTags.ModelKey}\" > '{model}:' AND \"{BlobLabelTags.ModelKey}\" < '{model};'");
        }

        if (job is not null)
        {
            if (!JobId.IsValid(job))
            {
                throw new CliUsageException($"--job '{job}' is not a job id");
            }

            terms.Add($"\"{BlobLabelTags.JobKey}\" = '{job}'");
        }

        return string.Join(" AND ", terms);
    }
}
