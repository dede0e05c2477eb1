using Azure;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using MobileNet.Orleans.Grains.Jobs;
using MobileNet.Orleans.Grains.Resilience;
using MobileNet.Orleans.Grains.Workers;
using Polly;
using Polly.Registry;
using Polly.Retry;
using Polly.Testing;
using Polly.Timeout;

namespace MobileNet.Orleans.Grains.Tests.Resilience;

public sealed class SiloResiliencePipelinesTests
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(7);

    [Fact]
    public void Registry_AddMobileNetGrains_EachKindHasItsLimits()
    {
        using var provider = Services().BuildServiceProvider();
        var pipelines = provider.GetRequiredService<ResiliencePipelineProvider<string>>();

        var report = pipelines.GetPipeline(SiloResiliencePipelines.CoordinatorReport).GetPipelineDescriptor();
        var reportRetry = Assert.IsType<RetryStrategyOptions>(report.Strategies[0].Options);
        Assert.Equal(5, reportRetry.MaxRetryAttempts);
        Assert.Equal(TimeSpan.FromMilliseconds(500), reportRetry.Delay);
        Assert.Equal(DelayBackoffType.Exponential, reportRetry.BackoffType);
        Assert.True(reportRetry.UseJitter);
        Assert.Equal(CallTimeout, Assert.IsType<TimeoutStrategyOptions>(report.Strategies[1].Options).Timeout);

        var poll = pipelines.GetPipeline(SiloResiliencePipelines.RegistryPoll).GetPipelineDescriptor();
        var pollRetry = Assert.IsType<RetryStrategyOptions>(poll.Strategies[0].Options);
        Assert.Equal(int.MaxValue, pollRetry.MaxRetryAttempts);
        Assert.Equal(TimeSpan.FromMilliseconds(500), pollRetry.Delay);
        Assert.Equal(TimeSpan.FromSeconds(5), pollRetry.MaxDelay);
        Assert.True(pollRetry.UseJitter);
        Assert.Equal(CallTimeout, Assert.IsType<TimeoutStrategyOptions>(poll.Strategies[1].Options).Timeout);

        var listing = pipelines.GetPipeline(SiloResiliencePipelines.SourceListing).GetPipelineDescriptor();
        var listingRetry = Assert.IsType<RetryStrategyOptions>(Assert.Single(listing.Strategies).Options);
        Assert.Equal(int.MaxValue, listingRetry.MaxRetryAttempts);
        Assert.Equal(TimeSpan.FromSeconds(1), listingRetry.Delay);
        Assert.Equal(TimeSpan.FromSeconds(30), listingRetry.MaxDelay);
        Assert.Equal(DelayBackoffType.Exponential, listingRetry.BackoffType);
    }

    [Fact]
    public async Task CoordinatorReport_CoordinatorNeverAnswers_SixTriesThenTheError()
    {
        var time = new FakeTimeProvider();
        var pipeline = SiloResiliencePipelines.ConfigureCoordinatorReport(new ResiliencePipelineBuilder { TimeProvider = time }, CallTimeout, NullLogger.Instance).Build();
        var calls = 0;

        var report = pipeline.ExecuteAsync(_ => { calls++; throw new InvalidOperationException("silo gone"); }, CancellationToken.None).AsTask();
        await AdvanceUntilDoneAsync(report, time);

        await Assert.ThrowsAsync<InvalidOperationException>(() => report);
        Assert.Equal(6, calls);
    }

    [Fact]
    public async Task CoordinatorReport_CallHangs_EachTryBoundedByTheCallTimeout()
    {
        var time = new FakeTimeProvider();
        var pipeline = SiloResiliencePipelines.ConfigureCoordinatorReport(new ResiliencePipelineBuilder { TimeProvider = time }, CallTimeout, NullLogger.Instance).Build();
        var calls = 0;

        var report = pipeline.ExecuteAsync(async ct => { calls++; await Task.Delay(Timeout.Infinite, ct); }, CancellationToken.None).AsTask();
        await AdvanceUntilDoneAsync(report, time);

        await Assert.ThrowsAsync<TimeoutRejectedException>(() => report);
        Assert.Equal(6, calls);
    }

    [Fact]
    public async Task CoordinatorReport_WorkerAborts_NotRetried()
    {
        var pipeline = SiloResiliencePipelines.ConfigureCoordinatorReport(new ResiliencePipelineBuilder(), CallTimeout, NullLogger.Instance).Build();
        using var abort = new CancellationTokenSource();
        await abort.CancelAsync();
        var calls = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await pipeline.ExecuteAsync(ct => { calls++; ct.ThrowIfCancellationRequested(); return default; }, abort.Token));

        Assert.True(calls <= 1);
    }

    [Theory]
    [InlineData(503, true)]
    [InlineData(500, true)]
    [InlineData(429, true)]
    [InlineData(404, false)]
    public void IsTransientListingFailure_StorageStatus_OnlyMissingSourceEndsTheJob(int status, bool transient)
    {
        Assert.Equal(transient, SiloResiliencePipelines.IsTransientListingFailure(new RequestFailedException(status, "storage said no")));
    }

    [Fact]
    public void IsTransientListingFailure_ManifestOutsideScopeOrCancelled_NotRetried()
    {
        Assert.False(SiloResiliencePipelines.IsTransientListingFailure(new InvalidManifestException("outside the scope")));
        Assert.False(SiloResiliencePipelines.IsTransientListingFailure(new OperationCanceledException()));
        Assert.True(SiloResiliencePipelines.IsTransientListingFailure(new TimeoutException()));
    }

    [Fact]
    public async Task SourceListing_StorageDownThenBack_WaitsWithGrowingPausesThenLists()
    {
        var time = new FakeTimeProvider();
        var pipeline = SiloResiliencePipelines.ConfigureSourceListing(new ResiliencePipelineBuilder { TimeProvider = time }, NullLogger.Instance).Build();
        var attempts = new List<DateTimeOffset>();

        var listing = pipeline.ExecuteAsync(_ =>
        {
            attempts.Add(time.GetUtcNow());
            return attempts.Count <= 6 ? throw new RequestFailedException(503, "server busy") : ValueTask.CompletedTask;
        }, CancellationToken.None).AsTask();
        await AdvanceUntilDoneAsync(listing, time);

        await listing;
        Assert.Equal(7, attempts.Count);
        var pauses = attempts.Zip(attempts.Skip(1), (a, b) => b - a).ToList();
        Assert.All(pauses, p => Assert.InRange(p, TimeSpan.Zero, TimeSpan.FromSeconds(30)));
        // Growing on the whole (jittered): the last pauses are longer than the first.
        Assert.True(pauses.Skip(3).Sum(p => p.TotalSeconds) > pauses.Take(3).Sum(p => p.TotalSeconds), string.Join(", ", pauses));
    }

    private static ServiceCollection Services()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMobileNetGrains(options => new BlobServiceClient("UseDevelopmentStorage=true", options));
        services.Configure<WorkerOptions>(o => o.CallTimeout = CallTimeout);
        return services;
    }

    /// <summary>Moves fake time on until <paramref name="task"/> ends (each step lets the pipeline's timers fire).</summary>
    private static async Task AdvanceUntilDoneAsync(Task task, FakeTimeProvider time)
    {
        for (var i = 0; i < 20_000 && !task.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(250));
            await Task.Yield();
            await Task.Delay(1);
        }

        Assert.True(task.IsCompleted, "the pipeline did not finish within 20,000 steps of fake time");
    }
}
