using System.CommandLine;
using MobileNet.Orleans.Client.Cluster;
using MobileNet.Orleans.Client.Jobs;
using MobileNet.Orleans.Client.Resilience;
using MobileNet.Orleans.Client.Storage;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Storage;

namespace MobileNet.Orleans.Client.Commands;

/// <summary>
/// <c>mobilenet submit --source container/prefix --model name</c>: checks the arguments, then asks the cluster, which
/// checks with its own storage identity (the client needs no storage key) and refuses (exit 2 with a one-line reason)
/// a source or output outside its storage scope, an unknown model, a top-k above the model's class count, a missing or
/// empty source; otherwise the job starts and its id is the last line of stdout.
/// </summary>
public static class SubmitCommand
{
    /// <summary>Where results go unless <c>--output</c> says otherwise: <c>mobilenet-results/&lt;jobId&gt;/results/</c>.</summary>
    public const string DefaultOutputContainer = "mobilenet-results";

    public static Command Create()
    {
        var source = new Option<string>("--source") { Description = "images to label: container/prefix (every blob under it)", Required = true };
        var model = new Option<string>("--model") { Description = "model name (see 'mobilenet models list')", Required = true };
        var topK = new Option<int>("--top-k") { Description = $"labels per image, 1..{JobDefaults.MaxTopK}", DefaultValueFactory = _ => 5 };
        var shardSize = new Option<int>("--shard-size") { Description = $"images per shard, 1..{JobDefaults.MaxShardSize}", DefaultValueFactory = _ => JobDefaults.ShardSize };
        var output = new Option<string?>("--output") { Description = $"where results go: container/prefix (default {DefaultOutputContainer}); the job writes <output>/<jobId>/results/*.jsonl" };
        var maxErrors = new Option<string?>("--max-errors") { Description = "fail the job when more images than this cannot be labeled: a count (50) or a percentage (10%)" };
        var manifest = new Option<string?>("--manifest") { Description = "blob in the source container listing the image blob names, one per line (instead of everything under the prefix)" };
        var wait = new Option<bool>("--wait") { Description = "show progress until the job ends; exit 0 if it completed, 1 if it failed or was cancelled" };
        var command = new Command("submit", "Start a labeling job on the cluster; prints the job id.") { source, model, topK, shardSize, output, maxErrors, manifest, wait };
        var data = new SubmitDataOptions(command);
        var cluster = new ClusterConnectionOptions(command);
        command.SetAction(async (ParseResult parse, CancellationToken ct) =>
        {
            var spec = data.Apply(parse, BuildSpec(
                parse.GetValue(source), parse.GetValue(model), parse.GetValue(topK), parse.GetValue(shardSize),
                parse.GetValue(output), parse.GetValue(maxErrors), parse.GetValue(manifest)));
            var settings = cluster.Resolve(parse);

            await using var connection = await ClusterConnection.ConnectAsync(settings, ct);
            var jobId = JobId.New(DateTimeOffset.UtcNow);
            JobStatus status;
            try
            {
                // Idempotent: a timed-out submit is asked again with the same job id (ClientResiliencePipelines.Submit).
                var coordinator = connection.Client.GetGrain<IJobCoordinatorGrain>(jobId);
                status = await ClientResiliencePipelines.Submit().ExecuteAsync(async _ => await coordinator.SubmitAsync(spec), ct);
            }
            catch (ArgumentException ex)
            {
                // The cluster checks the storage scope, the model and the source with its own identity (it never trusts
                // its caller, and the client holds no key): its reasons are user errors, exit 2.
                throw new CliUsageException(ex.Message);
            }

            var error = parse.InvocationConfiguration.Error;
            await error.WriteLineAsync($"submitted {jobId}: model {spec.ModelName}, source {spec.Source}{(spec.ManifestBlob is { } m ? $" (manifest {m})" : "")}, results {JobOutputLayout.ResultsFolder(spec.Output, jobId)}");
            if (!parse.GetValue(wait))
            {
                await error.WriteLineAsync($"follow it with: mobilenet watch {jobId}");
                await parse.InvocationConfiguration.Output.WriteLineAsync(jobId);
                return ExitCodes.Success;
            }

            status = await JobCalls.WatchAsync(connection.Client, jobId, JobWatchView.For(error), JobCalls.WatchPollInterval, JobCalls.WatchPatience, ct);
            await error.WriteLineAsync(JobCalls.Outcome(status));
            await parse.InvocationConfiguration.Output.WriteLineAsync(jobId);
            return JobCalls.ExitCodeOf(status);
        });
        return command;
    }

    /// <summary>Checks the arguments alone (no I/O); every problem is a <see cref="CliUsageException"/>.</summary>
    public static JobSpec BuildSpec(string? source, string? model, int topK, int shardSize, string? output, string? maxErrors, string? manifest)
    {
        var sourcePath = BlobPaths.ParseOption("--source", source);
        if (string.IsNullOrWhiteSpace(model))
        {
            throw new CliUsageException("--model needs a model name; 'mobilenet models list' shows uploaded models");
        }

        if (!JobSpecValidation.IsValidModelName(model))
        {
            throw new CliUsageException($"--model '{model}' is not a model name: 1-64 lowercase letters, digits, '.', '_' or '-'");
        }

        if (topK is < 1 or > JobDefaults.MaxTopK)
        {
            throw new CliUsageException($"--top-k {topK} is out of range: give 1..{JobDefaults.MaxTopK}");
        }

        if (shardSize is < 1 or > JobDefaults.MaxShardSize)
        {
            throw new CliUsageException($"--shard-size {shardSize} is out of range: give 1..{JobDefaults.MaxShardSize}");
        }

        var outputPath = output is null ? new BlobPath { Container = DefaultOutputContainer } : BlobPaths.ParseOption("--output", output);
        ErrorThreshold? threshold = null;
        if (maxErrors is not null)
        {
            try
            {
                threshold = ErrorThreshold.Parse(maxErrors);
            }
            catch (FormatException ex)
            {
                throw new CliUsageException($"--max-errors {ex.Message}");
            }
        }

        if (manifest is not null && string.IsNullOrWhiteSpace(manifest))
        {
            throw new CliUsageException("--manifest needs a blob name in the source container");
        }

        var spec = new JobSpec
        {
            // Folder semantics: "photos/set1" is everything under "set1/", not also "set10/...".
            Source = sourcePath with { Prefix = BlobPaths.FolderPrefix(sourcePath) },
            ManifestBlob = manifest?.Trim(),
            ModelName = model,
            TopK = topK,
            ShardSize = shardSize,
            Output = outputPath,
            MaxErrors = threshold,
        };
        try
        {
            JobSpecValidation.Validate(spec);
        }
        catch (ArgumentException ex)
        {
            throw new CliUsageException(ex.Message);
        }

        return spec;
    }
}
