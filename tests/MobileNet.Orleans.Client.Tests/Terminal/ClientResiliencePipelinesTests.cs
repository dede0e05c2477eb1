using Microsoft.Extensions.Time.Testing;
using MobileNet.Orleans.Client.Resilience;
using Polly.Timeout;

namespace MobileNet.Orleans.Client.Tests.Terminal;

public sealed class ClientResiliencePipelinesTests
{
    [Fact]
    public async Task Submit_TimesOutThreeTimes_FourthTryAnswers()
    {
        var calls = 0;

        var answer = await ClientResiliencePipelines.Submit().ExecuteAsync(_ => ++calls < 4 ? throw new TimeoutException("no answer") : ValueTask.FromResult("job"), CancellationToken.None);

        Assert.Equal("job", answer);
        Assert.Equal(4, calls);
    }

    [Fact]
    public async Task Submit_TimesOutEveryTime_GivesUpAfterFourTries()
    {
        var calls = 0;

        await Assert.ThrowsAsync<TimeoutException>(async () =>
            await ClientResiliencePipelines.Submit().ExecuteAsync<string>(_ => { calls++; throw new TimeoutException("no answer"); }, CancellationToken.None));

        Assert.Equal(1 + ClientResiliencePipelines.SubmitRetries, calls);
    }

    [Fact]
    public async Task Submit_RefusedByTheCluster_NotRetried()
    {
        var calls = 0;

        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await ClientResiliencePipelines.Submit().ExecuteAsync<string>(_ => { calls++; throw new ArgumentException("unknown model"); }, CancellationToken.None));

        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Connect_ClusterUnreachable_ThreeTriesThenTheError()
    {
        var time = new FakeTimeProvider();
        var calls = 0;

        var connect = ClientResiliencePipelines.Connect(TimeSpan.FromSeconds(30), time)
            .ExecuteAsync<string>(_ => { calls++; throw new InvalidOperationException("connection refused"); }, CancellationToken.None).AsTask();
        await AdvanceUntilDoneAsync(connect, time, TimeSpan.FromMilliseconds(250));

        await Assert.ThrowsAsync<InvalidOperationException>(() => connect);
        Assert.Equal(1 + ClientResiliencePipelines.ConnectRetries, calls);
    }

    [Fact]
    public async Task Connect_NoAnswerWithinTheTimeout_TimeoutRejected()
    {
        var time = new FakeTimeProvider();

        var connect = ClientResiliencePipelines.Connect(TimeSpan.FromSeconds(8), time)
            .ExecuteAsync(async ct => await Task.Delay(Timeout.Infinite, ct), CancellationToken.None).AsTask();
        await AdvanceUntilDoneAsync(connect, time, TimeSpan.FromSeconds(1));

        await Assert.ThrowsAsync<TimeoutRejectedException>(() => connect);
    }

    [Fact]
    public async Task WatchStatus_ClusterBackWithinPatience_Answers()
    {
        var time = new FakeTimeProvider();
        var failures = new List<int>();
        var pipeline = ClientResiliencePipelines.WatchStatus(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(2), (_, attempt) => { failures.Add(attempt); return default; }, time);
        var calls = 0;

        var poll = pipeline.ExecuteAsync(_ => ++calls <= 3 ? throw new InvalidOperationException("gateway gone") : ValueTask.FromResult("status"), CancellationToken.None).AsTask();
        await AdvanceUntilDoneAsync(poll, time, TimeSpan.FromMilliseconds(500));

        Assert.Equal("status", await poll);
        Assert.Equal([0, 1, 2], failures);
    }

    [Fact]
    public async Task WatchStatus_ClusterDownLongerThanPatience_TimeoutRejected()
    {
        var time = new FakeTimeProvider();
        var pipeline = ClientResiliencePipelines.WatchStatus(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), (_, _) => default, time);
        var calls = 0;

        var poll = pipeline.ExecuteAsync<string>(_ => { calls++; throw new InvalidOperationException("gateway gone"); }, CancellationToken.None).AsTask();
        await AdvanceUntilDoneAsync(poll, time, TimeSpan.FromMilliseconds(500));

        await Assert.ThrowsAsync<TimeoutRejectedException>(() => poll);
        // About one try a second (jittered) for 30 s.
        Assert.InRange(calls, 15, 60);
    }

    [Fact]
    public async Task WatchStatus_UnknownJob_NotRetried()
    {
        var calls = 0;
        var pipeline = ClientResiliencePipelines.WatchStatus(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(2), (_, _) => default, new FakeTimeProvider());

        await Assert.ThrowsAsync<CliUsageException>(async () =>
            await pipeline.ExecuteAsync<string>(_ => { calls++; throw new CliUsageException("unknown job"); }, CancellationToken.None));

        Assert.Equal(1, calls);
    }

    /// <summary>Moves fake time on until <paramref name="task"/> ends (each step lets the pipeline's timers fire).</summary>
    private static async Task AdvanceUntilDoneAsync(Task task, FakeTimeProvider time, TimeSpan step)
    {
        for (var i = 0; i < 10_000 && !task.IsCompleted; i++)
        {
            time.Advance(step);
            await Task.Yield();
            await Task.Delay(1);
        }

        Assert.True(task.IsCompleted, "the pipeline did not finish in 10,000 steps of fake time");
    }
}
