using System.Diagnostics;
using Azure.Storage.Blobs;
using MobileNet.Orleans.Contracts.Models;
using Xunit.Abstractions;

namespace MobileNet.Orleans.Reliability.Tests;

/// <summary>Scenarios 8-10 of issue 4: concurrent jobs and a cancel, a killed watching client, a shard that always fails.</summary>
[Trait("Category", "Reliability")]
public sealed class JobControlTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task ThreeJobs_OneCancelledMidWay_StopsWithinFiveSecondsOthersComplete()
    {
        ReliabilitySettings.SkipInCi("three jobs of the full dataset");
        await using var run = await ScenarioRun.StartAsync("8", "three jobs at once, one cancelled mid-way (2 silos)", output, silos: 2);
        var names = await run.UploadImagesAsync(Faults.Images);
        var jobs = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            jobs.Add(await run.SubmitAsync());
        }

        var victim = jobs[1];
        var at = await run.WaitForProgressAsync(victim, names.Count, ReliabilitySettings.KillAt);
        var (stdout, _) = await run.CliOkAsync(["cancel", victim, .. run.Cluster.ClientArgs]);
        Assert.Contains("cancelled", stdout, StringComparison.Ordinal);
        var frozen = await run.StatusJsonAsync(victim);
        Assert.Equal("Cancelled", frozen.GetProperty("state").GetString());
        // The coordinator's end time is the moment of the cancel (same machine clock as the silo log lines).
        var cancelAt = DateTimeOffset.Parse(frozen.GetProperty("endedAt").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        run.Log($"cancelled {victim} at {at.Processed} images");

        // Its shards stop at their next lease renewal: the last sign of work on it (a shard finishing or stopping) must come within 5 s.
        await Task.Delay(TimeSpan.FromSeconds(8));
        var activity = run.Cluster.Silos.SelectMany(s => s.Lines)
            .Where(l => l.At > cancelAt && l.Line.Contains($"Job {victim} shard", StringComparison.Ordinal))
            .Select(l => l.At).DefaultIfEmpty(cancelAt).Max();
        var stopSeconds = (activity - cancelAt).TotalSeconds;
        run.Log($"last activity on {victim} {stopSeconds:F1} s after the cancel took effect");
        Assert.True(stopSeconds <= 5, $"job {victim} still worked {stopSeconds:F1} s after cancel");

        var figures = new List<ResultFigures>();
        foreach (var job in jobs.Where(j => j != victim))
        {
            figures.Add((await Faults.FinishAsync(run, job, names, "Completed", null, "", record: false)).Figures);
        }

        var kept = await run.CheckResultsAsync(victim, names);
        Assert.Equal(0, kept.Duplicated + kept.Foreign);
        var later = await run.StatusJsonAsync(victim);
        Assert.Equal("Cancelled", later.GetProperty("state").GetString());
        Assert.Equal(later.GetProperty("labeled").GetInt64() + later.GetProperty("errors").GetInt64(), kept.Rows);
        run.Record(
            new ResultFigures
            {
                Submitted = figures.Sum(f => f.Submitted),
                Rows = figures.Sum(f => f.Rows),
                Labeled = figures.Sum(f => f.Labeled),
                ErrorRows = figures.Sum(f => f.ErrorRows),
                Lost = figures.Sum(f => f.Lost),
                Duplicated = figures.Sum(f => f.Duplicated),
                Foreign = figures.Sum(f => f.Foreign),
            },
            stopSeconds,
            "cancel (coordinator's end time) until the cancelled job's last shard activity in any silo log (must be <= 5 s)",
            "Completed",
            new Dictionary<string, object?>
            {
                ["jobs"] = 3,
                ["figuresCover"] = "the two completed jobs",
                ["cancelled"] = $"{victim}: kept {kept.Labeled} labeled + {kept.ErrorRows} error rows of {names.Count}, no duplicates",
            });
    }

    [SkippableFact]
    public async Task WatchClient_KilledAndRestarted_JobUnaffectedAndWatchReattaches()
    {
        ReliabilitySettings.SkipInCi("two extra CLI processes");
        Skip.IfNot(File.Exists(RepositoryLayout.CliDll), $"CLI not built at {RepositoryLayout.CliDll}");
        await using var run = await ScenarioRun.StartAsync("9", "the client killed during watch, restarted (2 silos)", output, silos: 2);
        var names = await run.UploadImagesAsync(Faults.Images);
        var job = await run.SubmitAsync();

        await using var first = StartWatch(run, job);
        await WaitForProgressLineAsync(first, TimeSpan.FromSeconds(60));
        var at = await run.WaitForProgressAsync(job, names.Count, ReliabilitySettings.KillAt);
        first.Kill();
        await first.WaitExitAsync(TimeSpan.FromSeconds(30));
        var killedAt = DateTimeOffset.UtcNow;
        run.Log($"SIGKILL the watching client at {at.Processed} images; its last line: {LastLine(first)}");
        Assert.Equal(137, first.ExitCode);

        // The job never depended on it: it keeps moving.
        var moved = await run.Monitor.WaitAsync(job, s => s.Processed > at.Processed || s.IsTerminal, TimeSpan.FromMinutes(2));
        run.Log($"job moved on to {moved.Processed} without the client");

        var restartAt = Stopwatch.StartNew();
        await using var second = StartWatch(run, job);
        await WaitForProgressLineAsync(second, TimeSpan.FromSeconds(60));
        var reattachSeconds = restartAt.Elapsed.TotalSeconds;
        run.Log($"watch reattached in {reattachSeconds:F1} s: {LastLine(second)}");
        Assert.True(await second.WaitExitAsync(TimeSpan.FromMinutes(10)), "the second watch did not end with the job");
        Assert.Equal(0, second.ExitCode);
        Assert.Contains("Completed", second.StandardError, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(run.AccountKey, first.StandardError + first.StandardOutput + second.StandardError + second.StandardOutput, StringComparison.Ordinal);

        await Faults.FinishAsync(run, job, names, "Completed", reattachSeconds, "start of the new watch process until its first progress line",
            new Dictionary<string, object?> { ["clientKilledAtProcessed"] = at.Processed, ["firstWatchExitCode"] = first.ExitCode, ["secondWatchExitCode"] = second.ExitCode });
    }

    [SkippableFact]
    public async Task PoisonedModel_ShardsFailEveryTime_RetriedBoundedThenReported()
    {
        await using var run = await ScenarioRun.StartAsync("10", "a model whose bytes do not match its SHA-256: every attempt fails (2 silos, beside a healthy job)", output, silos: 2);
        var names = await run.UploadImagesAsync(Faults.Images);
        // A model of its own (another seed: its SHA-256 is in no silo's cache), uploaded, then its stored bytes replaced
        // by other valid ONNX bytes after the manifest recorded the hash: every silo must refuse to load it.
        var model = await SharedAssets.ModelAsync();
        var own = Path.Combine(run.WorkDirectory, "poisoned.onnx");
        await run.CliOkAsync(["models", "build", "--arch", "mobilenet-v1", "--width", "0.25", "--resolution", "96", "--seed", "8", "-o", own]);
        var poisoned = "rel-poisoned-" + Guid.NewGuid().ToString("N")[..8];
        await run.CliOkAsync(["models", "upload", poisoned, "--file", own, "--labels", model.LabelsPath, .. run.Cluster.StorageArgs]);
        // The artifact the manifest (and so every job) pins, stored by its hash, gets other bytes.
        var models = new BlobServiceClient(run.Cluster.Storage).GetBlobContainerClient(ModelStoreLayout.Container);
        var pinned = ModelManifestJson.Deserialize((await models.GetBlobClient(ModelStoreLayout.ManifestBlob(poisoned)).DownloadContentAsync()).Value.Content.ToString());
        await models.GetBlobClient(ModelStoreLayout.ArtifactBlob(poisoned, pinned.Sha256)).UploadAsync(BinaryData.FromBytes(await File.ReadAllBytesAsync(model.ModelPath)), overwrite: true);

        // A few shards of the small dataset with the bad model, beside a healthy job on the same silos.
        var poisonedJob = await run.SubmitAsync("images", poisoned, (names.Count / 3) + 1);
        var healthyJob = await run.SubmitAsync();
        var watch = Stopwatch.StartNew();
        var final = await run.Monitor.WaitAsync(poisonedJob, s => s.IsTerminal, TimeSpan.FromMinutes(5));
        var endSeconds = watch.Elapsed.TotalSeconds;
        run.Log($"poisoned job ended {final.State} after {endSeconds:F1} s: {final.Status.ShardsFailed} shards failed");

        var maxAttempts = 3;
        Assert.Equal(final.Status.ShardsTotal, final.Status.ShardsFailed);
        Assert.All(final.Status.FailedShards, f => Assert.Equal(maxAttempts, f.Attempts));
        Assert.All(final.Status.FailedShards, f => Assert.Contains("SHA-256", f.Reason, StringComparison.Ordinal));
        var attempts = run.Cluster.Silos.SelectMany(s => s.Lines).Count(l => l.Line.Contains($"Job {poisonedJob} shard", StringComparison.Ordinal) && l.Line.Contains("attempt", StringComparison.Ordinal) && l.Line.Contains("failed", StringComparison.Ordinal) && !l.Line.Contains("failed all", StringComparison.Ordinal));
        run.Log($"failed attempts logged by the silos: {attempts} for {final.Status.ShardsTotal} shards");
        Assert.InRange(attempts, final.Status.ShardsTotal, final.Status.ShardsTotal * maxAttempts * 2);

        var statusText = (await run.CliOkAsync(["status", poisonedJob, .. run.Cluster.ClientArgs])).Stdout;
        Assert.Contains("failed after 3 attempt(s)", statusText, StringComparison.Ordinal);
        Assert.Contains("SHA-256", statusText, StringComparison.Ordinal);
        var poisonedFigures = await run.CheckResultsAsync(poisonedJob, names);
        poisonedFigures.AssertExactlyOnce();
        Assert.Equal(names.Count, poisonedFigures.ErrorRows);
        Assert.All(poisonedFigures.Records, r => Assert.Contains("SHA-256", r.Error, StringComparison.Ordinal));

        await Faults.FinishAsync(run, healthyJob, names, "Completed", null, "", record: false);
        run.Record(poisonedFigures, endSeconds, "submit until the poisoned job ended with every shard reported failed (bounded: never loops)", final.State.ToString(),
            new Dictionary<string, object?>
            {
                ["shards"] = final.Status.ShardsTotal,
                ["attemptsPerShard"] = string.Join(",", final.Status.FailedShards.Select(f => f.Attempts)),
                ["failedAttemptsLogged"] = attempts,
                ["reason"] = final.Status.FailedShards.FirstOrDefault()?.Reason,
                ["healthyJobBeside"] = "Completed, each image once",
            });
    }

    /// <summary><c>mobilenet watch</c> as a real process (storage from the environment, never its command line).</summary>
    private static ManagedProcess StartWatch(ScenarioRun run, string job)
    {
        var command = CliWrap.Cli.Wrap("dotnet")
            .WithArguments([RepositoryLayout.CliDll, "watch", job, "--interval", "0.5", "--connect-timeout", "60", "--cluster-id", run.Cluster.ClusterId, "--service-id", run.Cluster.ServiceId])
            .WithEnvironmentVariables(new Dictionary<string, string?>
            {
                ["MOBILENET_STORAGE"] = run.Cluster.Storage,
                [Client.Cluster.ClusterSettings.TlsDirectoryVariable] = TestCertificates.Shared.Client(Contracts.Security.CallerRole.Reader),
            });
        return ManagedProcess.Start("watch", command);
    }

    /// <summary>Waits for the first progress line (a percentage) on the watch's stderr.</summary>
    private static async Task WaitForProgressLineAsync(ManagedProcess watch, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!watch.StandardError.Contains('%', StringComparison.Ordinal))
        {
            Assert.True(clock.Elapsed < timeout, $"watch printed nothing within {timeout.TotalSeconds} s: {watch.StandardError}");
            Assert.False(watch.HasExited, $"watch exited with {(watch.HasExited ? watch.ExitCode : 0)}: {watch.StandardError}");
            await Task.Delay(100);
        }
    }

    private static string LastLine(ManagedProcess watch) => watch.StandardError.TrimEnd().Split('\n')[^1];
}
