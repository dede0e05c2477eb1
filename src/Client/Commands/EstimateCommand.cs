using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MobileNet.Orleans.Client.Cluster;
using MobileNet.Orleans.Client.Jobs;
using MobileNet.Orleans.Client.Resilience;
using MobileNet.Orleans.Contracts.Jobs;

namespace MobileNet.Orleans.Client.Commands;

/// <summary>
/// <c>mobilenet estimate --model m --images N [--nodes K] --source container/prefix</c>: runs a short calibration job
/// on the cluster (the first <c>--calibration-images</c> of the source, small shards so every worker slot is busy),
/// cancels it once enough images are done, and prints the expected time and cost of labeling N images on K nodes.
/// </summary>
public static class EstimateCommand
{
    public const int DefaultCalibrationImages = 200;

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "model name (see 'mobilenet models list')", Required = true };
        var images = new Option<long>("--images") { Description = "images the real job will label", Required = true };
        var nodes = new Option<int?>("--nodes") { Description = "nodes (silos) the real job will run on; default: as many as the calibration used" };
        var source = new Option<string>("--source") { Description = "images like the real job's (container/prefix): decoding cost depends on their size", Required = true };
        var calibration = new Option<int>("--calibration-images") { Description = "images the calibration labels before it is cancelled", DefaultValueFactory = _ => DefaultCalibrationImages };
        var output = new Option<string?>("--output") { Description = $"where the calibration job writes its results (default {SubmitCommand.DefaultOutputContainer})" };
        var nodePrice = JobCostFormatter.NodePriceOption();
        var json = new Option<bool>("--json") { Description = "print one JSON object instead of text" };
        var command = new Command("estimate", "Run a short calibration job and print the expected time and cost of a job of --images images on --nodes nodes.")
        {
            model, images, nodes, source, calibration, output, nodePrice, json,
        };
        var cluster = new ClusterConnectionOptions(command);
        command.SetAction(async (ParseResult parse, CancellationToken ct) =>
        {
            var count = parse.GetValue(images);
            var target = parse.GetValue(nodes);
            var sample = parse.GetValue(calibration);
            if (count is < 1 or > 10_000_000_000)
            {
                throw new CliUsageException($"--images {count} must be between 1 and 10000000000");
            }

            if (target is < 1 or > 10_000)
            {
                throw new CliUsageException($"--nodes {target} must be between 1 and 10000");
            }

            if (sample is < 20 or > 100_000)
            {
                throw new CliUsageException($"--calibration-images {sample} must be between 20 and 100000");
            }

            var price = JobCostFormatter.ResolveNodePrice(parse.GetValue(nodePrice));
            var spec = SubmitCommand.BuildSpec(parse.GetValue(source), parse.GetValue(model), 1, 16, parse.GetValue(output), null, null);
            var error = parse.InvocationConfiguration.Error;
            await using var connection = await ClusterConnection.ConnectAsync(cluster.Resolve(parse), ct);
            var (run, jobId) = await CalibrateAsync(connection.Client, spec, sample, error, ct);
            var estimate = CalibrationEstimator.Estimate(run, count, target, price);
            var stdout = parse.InvocationConfiguration.Output;
            var c = CultureInfo.InvariantCulture;
            var processed = run.Samples[^1].Processed;
            if (parse.GetValue(json))
            {
                await stdout.WriteLineAsync(JsonSerializer.Serialize(new
                {
                    calibrationJob = jobId,
                    calibrationImages = processed,
                    calibrationSeconds = Math.Round(run.Samples[^1].Seconds, 2),
                    calibrationNodes = run.Nodes,
                    calibrationCores = run.Cores,
                    cpuSecondsPer1000Images = run.CpuSecondsPer1000Images is { } cpu ? Math.Round(cpu, 2) : (double?)null,
                    images = estimate.Images,
                    nodes = estimate.Nodes,
                    startupSeconds = Math.Round(estimate.StartupSeconds, 2),
                    imagesPerSecondPerNode = Math.Round(estimate.ImagesPerSecondPerNode, 3),
                    expectedSeconds = Math.Round(estimate.ExpectedSeconds, 1),
                    nodePricePerHour = estimate.NodePricePerHour,
                    expectedCost = estimate.ExpectedCost is { } cost ? Math.Round(cost, 6) : (decimal?)null,
                    costPer1000Images = estimate.CostPer1000Images is { } k ? Math.Round(k, 6) : (decimal?)null,
                }, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
                return ExitCodes.Success;
            }

            await stdout.WriteLineAsync(string.Create(c, $"calibration  job {jobId}: {processed} images in {run.Samples[^1].Seconds:0.0} s on {run.Nodes} node(s) ({run.Cores} cores); {estimate.ImagesPerSecondPerNode:0.0} images/s per node steady, start-up {estimate.StartupSeconds:0.0} s, {(run.CpuSecondsPer1000Images is { } cpu2 ? cpu2.ToString("0.0", c) : "-")} CPU-s per 1,000 images"));
            await stdout.WriteLineAsync(string.Create(c, $"estimate     {estimate.Images} images on {estimate.Nodes} node(s): {FormatDuration(estimate.ExpectedSeconds)} ({estimate.ExpectedSeconds:0} s)"));
            await stdout.WriteLineAsync(estimate.ExpectedCost is { } total
                ? string.Create(c, $"cost         {total:0.0000} at {price:0.####} per node-hour ({estimate.CostPer1000Images:0.0000} per 1,000 images)")
                : "cost         give --node-price (or MOBILENET_NODE_PRICE) for the cost");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Submits the calibration job, samples its progress until enough images are done (or it ends), then cancels it.</summary>
    private static async Task<(CalibrationRun Run, string JobId)> CalibrateAsync(IClusterClient client, JobSpec spec, int sample, TextWriter error, CancellationToken ct)
    {
        var jobId = JobId.New(DateTimeOffset.UtcNow);
        var clock = Stopwatch.StartNew();
        try
        {
            await ClientResiliencePipelines.Submit().ExecuteAsync(async _ => await client.GetGrain<IJobCoordinatorGrain>(jobId).SubmitAsync(spec), ct);
        }
        catch (ArgumentException ex)
        {
            throw new CliUsageException(ex.Message);
        }

        await error.WriteLineAsync($"calibrating with job {jobId} ({sample} images of {spec.Source}; cancelled when done) ...");
        var samples = new List<(double, long)> { (0, 0) };
        JobStatus status;
        try
        {
            while (true)
            {
                status = await JobCalls.GetStatusAsync(client, jobId);
                var processed = status.Labeled + status.Errors;
                samples.Add((clock.Elapsed.TotalSeconds, processed));
                if (status.IsTerminal || processed >= sample)
                {
                    break;
                }

                if (clock.Elapsed > TimeSpan.FromMinutes(30))
                {
                    throw new InvalidOperationException($"the calibration processed {processed} images in 30 minutes; the cluster is too slow or stuck (see 'mobilenet status {jobId}')");
                }

                await Task.Delay(TimeSpan.FromMilliseconds(250), ct);
            }
        }
        finally
        {
            try
            {
                await JobCalls.CancelAsync(client, jobId);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                await error.WriteLineAsync($"warning: could not cancel calibration job {jobId}: {ClusterConnection.OneLine(ex)}; cancel it with 'mobilenet cancel {jobId}'");
            }
        }

        if (status.State == JobState.Failed)
        {
            throw new InvalidOperationException($"the calibration job failed: {status.FailureReason}");
        }

        var efficiency = JobEfficiency.Of(status);
        var nodes = Math.Max(1, status.Silos.Count);
        return (new CalibrationRun(samples, nodes, efficiency.Cores, efficiency.CpuSecondsPer1000Images), jobId);
    }

    private static string FormatDuration(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Ceiling(seconds));
        return t.TotalHours >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}h{t.Minutes:00}m")
            : t.TotalMinutes >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalMinutes}m{t.Seconds:00}s")
            : string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0}s");
    }
}
