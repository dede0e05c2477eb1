using System.Globalization;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.DependencyInjection;
using MobileNet.Orleans.Grains.Jobs.State;
using Orleans.Serialization;
using Xunit.Abstractions;

namespace MobileNet.Orleans.Reliability.Tests;

/// <summary>
/// Scenarios 4 and 5 of issue 4, on an Azurite of the test's own that persists to disk: the whole cluster killed and
/// started again (the job resumes by itself; stored finished shards are not labeled again), and storage gone for 15 s.
/// </summary>
[Trait("Category", "Reliability")]
public sealed class RestartAndOutageTests(ITestOutputHelper output)
{
    /// <summary>The silo's grain-state container for jobs (src/Silo/Hosting/SiloHostingExtensions.JobStateContainer).</summary>
    private const string JobStateContainer = "mobilenet-job-state";

    [SkippableFact]
    public async Task KillAllSilos_ClusterRestarted_JobResumesAndStoredShardsAreNotRelabeled()
    {
        ReliabilitySettings.SkipInCi("an Azurite of its own started twice and two silo generations");
        await using var azurite = await AzuriteProcess.StartNewAsync();
        await using var run = await ScenarioRun.StartAsync("4", "all silos SIGKILLed mid-job, storage and cluster restarted (2 silos, then 2 new)", output, silos: 2, storage: azurite.ConnectionString);
        var names = await run.UploadImagesAsync(Faults.Images);
        var job = await run.SubmitAsync();
        var at = await run.WaitForProgressAsync(job, names.Count, ReliabilitySettings.KillAt);
        var before = run.Cluster.Silos.ToList();
        foreach (var silo in before)
        {
            silo.Kill();
        }

        run.Log($"SIGKILL all silos at {at.Processed} images");
        var completionsBefore = run.ShardCompletions().Where(c => c.JobId == job).ToList();
        await azurite.StopAsync();
        await azurite.StartAsync();
        run.Log("storage restarted from its files");

        // What the job's stored state says is done, read back from disk after the restart.
        var stored = await StoredShardStatusesAsync(azurite.ConnectionString, job);
        var storedDone = stored.Where(s => s.Value == "Done").Select(s => s.Key).ToHashSet();
        run.Log($"stored state: {stored.Count} shards, {storedDone.Count} done");
        Assert.NotEmpty(storedDone);

        var restartAt = DateTimeOffset.UtcNow;
        var restarted = await run.Cluster.StartSilosAsync(2);
        run.Log("two new silos started; nobody touches the job");
        var reloaded = await run.Monitor.WaitAsync(job, _ => true, TimeSpan.FromMinutes(2));
        run.Log($"coordinator answers again: {reloaded.State}, {reloaded.Processed} images done as stored");
        await run.Monitor.WaitAsync(job, s => s.IsTerminal, TimeSpan.FromMinutes(10));
        var resumed = run.Monitor.FirstAfter(job, reloaded.At, s => s.Processed > reloaded.Processed);
        var notDone = stored.Count - storedDone.Count;
        var completionsAfter = CompletionsAfterRestart();
        // A worker logs its completion after the coordinator took it, so the job can end a moment before the last line.
        for (var waited = 0; waited < 50 && completionsAfter.Select(c => c.ShardId).Distinct().Count(stored.ContainsKey) < notDone; waited++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200));
            completionsAfter = CompletionsAfterRestart();
        }

        var relabeled = completionsAfter.Count(c => storedDone.Contains(c.ShardId));
        var redoneUnsaved = completionsAfter.Count(c => completionsBefore.Any(b => b.ShardId == c.ShardId));
        run.Log($"after the restart: {completionsAfter.Count} shard completions, {relabeled} of them shards stored as done, {redoneUnsaved} shards finished before the kill but not yet saved");
        Assert.Equal(0, relabeled);
        Assert.Equal(notDone, completionsAfter.Select(c => c.ShardId).Distinct().Count(stored.ContainsKey));

        await Faults.FinishAsync(run, job, names, "Completed", resumed is null ? null : (resumed.At - restartAt).TotalSeconds,
            "silo start until the job moved again (no client action: reminder / worker poll reactivated the coordinator)",
            new Dictionary<string, object?>
            {
                ["storedShards"] = stored.Count,
                ["storedDoneShards"] = storedDone.Count,
                ["shardCompletionsAfterRestart"] = completionsAfter.Count,
                ["storedDoneShardsRelabeled"] = relabeled,
                ["finishedButUnsavedShardsRedone"] = redoneUnsaved,
            });

        List<(DateTimeOffset At, string Silo, string JobId, int ShardId)> CompletionsAfterRestart() =>
            [.. run.ShardCompletions().Where(c => c.JobId == job && restarted.Any(r => r.Name == c.Silo))];
    }

    [SkippableFact]
    public async Task StopStorage_FifteenSecondsMidJob_SilosRetryAndJobCompletes()
    {
        ReliabilitySettings.SkipInCi("an Azurite of its own and a 15 s outage");
        await using var azurite = await AzuriteProcess.StartNewAsync();
        await using var run = await ScenarioRun.StartAsync("5", "Azurite stopped for 15 s mid-job, then started on the same data (3 silos)", output, silos: 3, storage: azurite.ConnectionString);
        var names = await run.UploadImagesAsync(Faults.Images);
        var job = await run.SubmitAsync();
        var at = await run.WaitForProgressAsync(job, names.Count, ReliabilitySettings.KillAt);
        await azurite.StopAsync();
        run.Log($"storage stopped at {at.Processed} images");
        await Task.Delay(TimeSpan.FromSeconds(15));
        var back = FaultMark.Now(run.Monitor.Samples.LastOrDefault(s => s.Status.JobId == job));
        await azurite.StartAsync();
        run.Log("storage back");

        await run.Monitor.WaitAsync(job, s => s.IsTerminal, TimeSpan.FromMinutes(10));
        var resumed = run.Monitor.FirstAfter(job, back.At, s => s.Processed > back.Processed);
        await Faults.FinishAsync(run, job, names, "Completed", resumed is null ? null : (resumed.At - back.At).TotalSeconds,
            "storage back until the job moved again",
            new Dictionary<string, object?> { ["outageSeconds"] = 15, ["processedAtOutage"] = at.Processed });
    }

    /// <summary>
    /// Shard id to status name, from the coordinator's stored state: the header (segment size) and the segment blobs,
    /// read with the same Orleans serializer the silos write them with.
    /// </summary>
    private static async Task<Dictionary<int, string>> StoredShardStatusesAsync(string storage, string jobId)
    {
        using var services = new ServiceCollection()
            .AddSerializer(builder => builder.AddAssembly(typeof(JobCoordinatorState).Assembly))
            .BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer>();
        var container = new BlobServiceClient(storage).GetBlobContainerClient(JobStateContainer);
        var header = serializer.Deserialize<JobCoordinatorState>(
            (await container.GetBlobClient($"{jobId}/header.bin").DownloadContentAsync()).Value.Content.ToArray())
            ?? throw new InvalidOperationException($"empty state header for {jobId}");
        var shards = new Dictionary<int, string>();
        await foreach (var blob in container.GetBlobsAsync(new GetBlobsOptions { Prefix = $"{jobId}/segments/" }))
        {
            var segment = serializer.Deserialize<ShardSegmentRecord>((await container.GetBlobClient(blob.Name).DownloadContentAsync()).Value.Content.ToArray())
                ?? throw new InvalidOperationException($"empty state segment {blob.Name}");
            for (var i = 0; i < segment.Shards.Count; i++)
            {
                shards[(segment.Index * header.SegmentSize) + i] = segment.Shards[i].Status.ToString();
            }
        }

        return shards.Count > 0 ? shards : throw new InvalidOperationException($"no stored shard segments for {jobId} in {JobStateContainer}");
    }
}
