using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Storage;

namespace MobileNet.Orleans.Client.Tests.Terminal;

/// <summary>Job statuses for the output tests (fixed times, so outputs are exact).</summary>
internal static class TestStatuses
{
    public static readonly DateTimeOffset Submitted = new(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);

    public static JobStatus Running(long labeled = 40, long errors = 2, params (string Silo, long Labeled, long Errors)[] silos) => new()
    {
        JobId = "job-20261126-100000-3fa9c1",
        State = JobState.Running,
        Spec = new JobSpec
        {
            Source = new BlobPath { Container = "photos", Prefix = "set1/" },
            ModelName = "mobilenet-v2",
            Output = new BlobPath { Container = "mobilenet-results" },
            TopK = 5,
            ShardSize = 10,
        },
        TotalImages = 100,
        ListingComplete = true,
        Labeled = labeled,
        Errors = errors,
        ShardsTotal = 10,
        ShardsDone = 4,
        ShardsRunning = 2,
        ShardsPending = 4,
        ImagesPerSecond = 12.5,
        Eta = TimeSpan.FromSeconds(5),
        Silos = [.. silos.Select(s => new SiloShare { Silo = s.Silo, Labeled = s.Labeled, Errors = s.Errors })],
        SubmittedAt = Submitted,
        StartedAt = Submitted.AddSeconds(1),
    };

    public static JobStatus Ended(JobState state, string? reason = null) => Running(98, 2, ("silo-a", 60, 1), ("silo-b", 38, 1)) with
    {
        State = state,
        ShardsDone = 10,
        ShardsRunning = 0,
        ShardsPending = 0,
        EndedAt = Submitted.AddSeconds(9),
        FailureReason = reason,
    };
}
