using System.Globalization;
using System.Text.Json;

namespace MobileNet.Orleans.Reliability.Tests;

/// <summary>When a fault was injected and how far the job was then: the reference point of "time to recover".</summary>
internal sealed record FaultMark(DateTimeOffset At, long Processed, int Redispatched)
{
    public static FaultMark Now(JobProgress? progress) =>
        new(DateTimeOffset.UtcNow, progress?.Processed ?? 0, progress?.Status.ShardsRedispatched ?? 0);
}

/// <summary>The steps every scenario ends with.</summary>
internal static class Faults
{
    /// <summary>Scenario knobs from the environment, for the figures' notes.</summary>
    public static int Images => ReliabilitySettings.Images;

    /// <summary>The silo whose log says it activated the job's coordinator (its submit or a reactivation).</summary>
    public static SiloProcess CoordinatorSilo(ScenarioRun run, string jobId)
    {
        SiloProcess? host = null;
        var at = DateTimeOffset.MinValue;
        foreach (var silo in run.Cluster.Silos.Where(s => !s.HasExited))
        {
            foreach (var (when, line) in silo.Lines)
            {
                if ((line.Contains($"Job {jobId} submitted", StringComparison.Ordinal) || line.Contains($"Job {jobId} activated", StringComparison.Ordinal)) && when > at)
                {
                    (host, at) = (silo, when);
                }
            }
        }

        return host ?? throw new InvalidOperationException($"no live silo logged the coordinator of {jobId}");
    }

    /// <summary>
    /// Time from the fault until the job had taken the lost work back and moved past where it was: the first sample
    /// after the fault with more shards re-dispatched than before (when the fault cost leases) and more images done
    /// than at the fault.
    /// </summary>
    public static double? SecondsToRecover(ScenarioRun run, string jobId, FaultMark fault, bool expectRedispatch)
    {
        var redispatched = expectRedispatch ? run.Monitor.FirstAfter(jobId, fault.At, s => s.Status.ShardsRedispatched > fault.Redispatched) : null;
        var from = redispatched?.At ?? fault.At;
        var progressed = run.Monitor.FirstAfter(jobId, from, s => s.Processed > fault.Processed || s.IsTerminal);
        return progressed is null ? null : (progressed.At - fault.At).TotalSeconds;
    }

    /// <summary>Waits for the end, checks state, results (each image once), silos and secrets; records the figures.</summary>
    public static async Task<(JsonElement Status, ResultFigures Figures)> FinishAsync(
        ScenarioRun run,
        string jobId,
        IReadOnlyList<string> submitted,
        string expectedState,
        double? recoverSeconds,
        string recoverMeaning,
        IDictionary<string, object?>? notes = null,
        bool record = true)
    {
        var status = await run.WaitEndAsync(jobId);
        var state = status.GetProperty("state").GetString()!;
        Assert.True(expectedState == state, $"job {jobId} ended {state}, expected {expectedState}: {status.GetProperty("failureReason")}");
        var figures = await run.CheckResultsAsync(jobId, submitted);
        figures.AssertExactlyOnce();
        Assert.Equal(figures.Labeled, status.GetProperty("labeled").GetInt64());
        Assert.Equal(figures.ErrorRows, status.GetProperty("errors").GetInt64());
        run.AssertNoUnexpectedExits();
        run.AssertSecretsNotPrinted();
        notes ??= new Dictionary<string, object?>();
        notes["shardsRedispatched"] = status.GetProperty("shardsRedispatched").GetInt32();
        notes["silosLabeled"] = string.Join(", ", status.GetProperty("silos").EnumerateArray()
            .Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.GetProperty("silo").GetString()}={s.GetProperty("labeled").GetInt64() + s.GetProperty("errors").GetInt64()}")));
        if (record)
        {
            run.Record(figures, recoverSeconds, recoverMeaning, state, notes);
        }

        return (status, figures);
    }
}
