using System.Globalization;
using Xunit.Abstractions;

namespace MobileNet.Orleans.Reliability.Tests;

/// <summary>
/// Issue 9's scenario at scale: a 300,000-image manifest job (the generated dataset plus names of absent blobs, each
/// a fast not-found error row, so it measures the control plane) whose coordinator's silo is SIGKILLed at 40%. The
/// coordinator reloads its header and segments on another silo and the job completes with each image once.
/// </summary>
[Trait("Category", "Reliability")]
public sealed class ScaleFailureTests(ITestOutputHelper output)
{
    private const double KillAt = 0.4;

    /// <summary>The size; <c>MOBILENET_RELIABILITY_SCALE_IMAGES</c> runs it smaller (a quick check of the mechanics).</summary>
    private static int JobImages =>
        int.TryParse(Environment.GetEnvironmentVariable("MOBILENET_RELIABILITY_SCALE_IMAGES"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1000
            ? n
            : 300_000;

    /// <summary>About 1,200 shards at the full size.</summary>
    private static int ShardSize => Math.Clamp(JobImages / 1200, 16, 1000);

    [SkippableFact]
    public async Task KillSilo_CoordinatorHostAtFortyPercentOf300kImages_JobCompletesEachImageOnce()
    {
        ReliabilitySettings.SkipInCi("300,000 images on 3 silos");
        await using var run = await ScenarioRun.StartAsync("1c", string.Create(CultureInfo.InvariantCulture, $"SIGKILL the coordinator's silo at 40% of a {JobImages:N0}-image manifest job (3 silos)"), output, silos: 3);
        var real = await run.UploadImagesAsync(Faults.Images);
        var names = real.Concat(Enumerable.Range(0, JobImages - real.Count).Select(i => string.Create(CultureInfo.InvariantCulture, $"absent/{i:D7}.jpg"))).ToList();
        var manifestDir = Path.Combine(run.WorkDirectory, "manifest");
        Directory.CreateDirectory(manifestDir);
        // Shuffled: a manifest need not be sorted, and results must sort it.
        var random = new Random(ReliabilitySettings.Seed);
        await File.WriteAllLinesAsync(Path.Combine(manifestDir, "scale.txt"), names.OrderBy(_ => random.Next()));
        await run.CliOkAsync(["upload", manifestDir, "--to", run.Container, "--all", .. run.Cluster.StorageArgs]);
        var (stdout, _) = await run.CliOkAsync(["submit", "--source", run.Container, "--manifest", "scale.txt", "--model", run.ModelName,
            "--shard-size", ShardSize.ToString(CultureInfo.InvariantCulture), .. run.Cluster.ClientArgs]);
        var job = stdout.TrimEnd().Split('\n')[^1].Trim();

        var at = await run.WaitForProgressAsync(job, JobImages, KillAt, TimeSpan.FromMinutes(10));
        var victim = Faults.CoordinatorSilo(run, job);
        var fault = FaultMark.Now(at);
        victim.Kill();
        run.Log($"SIGKILL {victim.Name}, host of the coordinator of {job}, at {at.Processed} of {JobImages}");

        await run.Monitor.WaitAsync(job, s => s.IsTerminal, TimeSpan.FromMinutes(15));
        var recover = Faults.SecondsToRecover(run, job, fault, expectRedispatch: false);
        var newHost = Faults.CoordinatorSilo(run, job);
        Assert.NotEqual(victim, newHost);
        var (_, figures) = await Faults.FinishAsync(run, job, names, "Completed", recover, "SIGKILL until the coordinator answered again from another silo and the job moved past the fault point",
            new Dictionary<string, object?> { ["killed"] = victim.Name, ["coordinatorMovedTo"] = newHost.Name, ["killedAtProcessed"] = fault.Processed, ["shardSize"] = ShardSize });
        Assert.Equal(JobImages, figures.Rows);
    }
}
