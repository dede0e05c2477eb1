using System.Globalization;
using Azure.Storage.Blobs;
using Xunit.Abstractions;

namespace MobileNet.Orleans.Reliability.Tests;

/// <summary>
/// Scenario 11 (issue 12, acceptance 2): a <c>--follow</c> job on a prefix that keeps receiving images, with a
/// worker silo killed while they arrive. Every image must be labeled exactly once, within one period plus the
/// labeling time (plus one lease expiry for the shards the dead silo held), and cancel must end the job.
/// </summary>
[Trait("Category", "Reliability")]
public sealed class ContinuousLabelingTests(ITestOutputHelper output)
{
    private const int Arrivals = 500;
    private static readonly TimeSpan ArrivalWindow = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(10);

    // Shard starts are logged at Debug: the test needs them to kill a silo while it holds a lease.
    private const string ShardStartLogLevel = "Logging__LogLevel__MobileNet.Orleans.Grains.Workers.ShardRunner";

    [SkippableFact]
    public async Task Follow_ImagesArriveForTwoMinutesWorkerKilled_EachLabeledOnceWithinPeriodThenCancelEndsIt()
    {
        ReliabilitySettings.SkipInCi("two minutes of arrivals");
        await using var run = await ScenarioRun.StartAsync("11", $"--follow --every {Period.TotalSeconds:0}s while {Arrivals} images arrive over {ArrivalWindow.TotalMinutes:0} min; SIGKILL a worker silo half-way (3 silos)", output, silos: 3,
            settings: new Dictionary<string, string> { [ShardStartLogLevel] = "Debug" });
        var folder = await SharedAssets.ImagesAsync(Arrivals);
        var files = Directory.GetFiles(folder).Order(StringComparer.Ordinal).ToList();
        var container = new BlobServiceClient(run.Cluster.Storage).GetBlobContainerClient(run.Container);
        await container.CreateIfNotExistsAsync();

        // One image first so the job has something to label; the rest arrive in waves, in shuffled name order
        // (arrival is unordered: a later blob can sort before ones already labeled).
        var shuffle = new Random(ReliabilitySettings.Seed);
        var order = files.Skip(1).OrderBy(_ => shuffle.Next()).ToList();
        await UploadAsync(container, files[0]);
        // The full-width V1 at 224 px: a shard takes long enough (~0.5 s) for the kill to land while one is leased.
        var model = await run.UploadModelAsync(await SharedAssets.ModelAsync(width: 1.0, resolution: 224));
        var job = await run.SubmitAsync(prefix: "arrivals", model: model, extra: ["--follow", "--every", $"{Period.TotalSeconds:0}s"]);

        const int waves = 24;
        var perWave = (int)Math.Ceiling(order.Count / (double)waves);
        var waveGap = ArrivalWindow / waves;
        SiloProcess? victim = null;
        long processedAtKill = 0;
        var heldAtKill = "";
        for (var wave = 0; wave < waves; wave++)
        {
            var started = DateTimeOffset.UtcNow;
            await Parallel.ForEachAsync(order.Skip(wave * perWave).Take(perWave), new ParallelOptions { MaxDegreeOfParallelism = 4 },
                async (file, ct) => await UploadAsync(container, file, ct));
            if (wave == waves / 2)
            {
                var coordinator = Faults.CoordinatorSilo(run, job);
                // A worker, not the coordinator's host (the lag figures live in the coordinator's memory), killed while
                // it holds a shard of this wave's round, so that a lease is lost with it.
                (victim, heldAtKill) = await HoldingShardAsync(run, job, coordinator);
                victim.Kill();
                processedAtKill = (await run.Monitor.TryGetAsync(job))?.Processed ?? 0;
                run.Log($"SIGKILL {victim.Name} after wave {wave + 1} of {waves} ({processedAtKill} images labeled; the coordinator is on {coordinator.Name})");
            }

            var rest = waveGap - (DateTimeOffset.UtcNow - started);
            if (rest > TimeSpan.Zero)
            {
                await Task.Delay(rest);
            }
        }

        run.Log($"all {Arrivals} images uploaded");
        var names = files.Select(f => "arrivals/" + Path.GetFileName(f)).ToList();
        var caughtUp = await run.Monitor.WaitAsync(job, s => s.IsTerminal || (s.Processed >= Arrivals && s.Status.ShardsRunning == 0 && s.Status.ShardsPending == 0), TimeSpan.FromMinutes(3));
        Assert.False(caughtUp.IsTerminal, $"follow job {job} ended ({caughtUp.State}) before it was cancelled");
        var caughtUpSeconds = run.Elapsed.TotalSeconds;
        var status = await run.StatusJsonAsync(job);
        Assert.Equal(Arrivals, status.GetProperty("labeled").GetInt64() + status.GetProperty("errors").GetInt64());

        // Lag from blob creation to label, as the coordinator measured it: one period plus labeling time, plus at most
        // one lease expiry and re-dispatch for what the killed silo held.
        var maxLag = status.GetProperty("maxLagLastHourSeconds").GetDouble();
        var lease = TimeSpan.Parse(ScenarioRun.FastFailover["Coordinator__LeaseDuration"], CultureInfo.InvariantCulture);
        var bound = Period + lease + TimeSpan.FromSeconds(15);
        run.Log($"caught up: {Arrivals} images processed; max lag {maxLag:F1} s (bound {bound.TotalSeconds:F0} s), {status.GetProperty("followRounds")} rounds");
        Assert.True(maxLag <= bound.TotalSeconds, $"an image waited {maxLag:F1} s from upload to label (bound: period {Period.TotalSeconds} s + lease {lease.TotalSeconds} s + 15 s labeling)");

        // Nothing new arrives: another round must label nothing more.
        await Task.Delay(Period + TimeSpan.FromSeconds(2));
        var idle = await run.StatusJsonAsync(job);
        Assert.Equal(Arrivals, idle.GetProperty("labeled").GetInt64() + idle.GetProperty("errors").GetInt64());

        var (stdout, _) = await run.CliOkAsync(["cancel", job, .. run.Cluster.ClientArgs]);
        Assert.Contains("cancelled", stdout, StringComparison.Ordinal);
        var (final, figures) = await Faults.FinishAsync(run, job, names, "Cancelled", caughtUpSeconds,
            "submit until every arrived image was labeled and no shard was left (the job then idled one more period and was cancelled)",
            new Dictionary<string, object?>
            {
                ["arrivals"] = $"{Arrivals} images in {waves} waves over {ArrivalWindow.TotalSeconds:0} s",
                ["every"] = $"{Period.TotalSeconds:0} s",
                ["killed"] = victim?.Name,
                ["killedAtProcessed"] = processedAtKill,
                ["killedHolding"] = "shard(s) " + heldAtKill,
                ["maxLagSeconds"] = Math.Round(maxLag, 1),
                ["followRounds"] = idle.GetProperty("followRounds").GetInt32(),
            });
        Assert.Equal(Arrivals, figures.Rows);
        Assert.NotNull(victim);
        Assert.True(final.GetProperty("shardsRedispatched").GetInt32() > 0, "the killed silo's leased shard was never re-dispatched (killed too late?)");
        output.WriteLine(final.ToString());
    }

    /// <summary>Waits (up to two periods) for a silo other than <paramref name="coordinator"/> to start a shard it has not finished.</summary>
    private static async Task<(SiloProcess Silo, string Shards)> HoldingShardAsync(ScenarioRun run, string job, SiloProcess coordinator)
    {
        var deadline = DateTimeOffset.UtcNow + (2 * Period);
        while (true)
        {
            foreach (var silo in run.Cluster.Silos.Where(s => s != coordinator && !s.HasExited))
            {
                var started = new HashSet<string>(StringComparer.Ordinal);
                foreach (var line in silo.Lines.Select(l => l.Line).Where(l => l.Contains($"Job {job} shard ", StringComparison.Ordinal)))
                {
                    var shard = line[(line.IndexOf($"Job {job} shard ", StringComparison.Ordinal) + job.Length + 11)..].Split(':')[0];
                    if (line.Contains(": attempt ", StringComparison.Ordinal) && line.Contains(" started (", StringComparison.Ordinal))
                    {
                        started.Add(shard);
                    }
                    else
                    {
                        started.Remove(shard);
                    }
                }

                if (started.Count > 0)
                {
                    var shards = string.Join(", ", started.Order(StringComparer.Ordinal));
                    run.Log($"{silo.Name} holds shard(s) {shards} of {job}");
                    return (silo, shards);
                }
            }

            Assert.True(DateTimeOffset.UtcNow < deadline, $"no worker silo started a shard of {job} within {2 * Period.TotalSeconds:0} s (is ShardRunner's start logged at Debug?)");
            await Task.Delay(10);
        }
    }

    private static async Task UploadAsync(BlobContainerClient container, string file, CancellationToken cancellationToken = default) =>
        await container.GetBlobClient("arrivals/" + Path.GetFileName(file)).UploadAsync(file, cancellationToken);
}
