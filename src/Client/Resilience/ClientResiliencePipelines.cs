using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace MobileNet.Orleans.Client.Resilience;

/// <summary>The CLI's retry policies, one per kind of call (Polly pipelines; time from the given <see cref="TimeProvider"/>).</summary>
public static class ClientResiliencePipelines
{
    /// <summary>Submits asked again after a timed-out answer: 3 (4 tries), at once.</summary>
    public const int SubmitRetries = 3;

    /// <summary>Connection tries before an unreachable cluster is reported: 3 (2 retries, 0.5 s apart).</summary>
    public const int ConnectRetries = 2;

    /// <summary>
    /// Connecting to the cluster: a few quick tries (a silo restarting, a gateway list one refresh behind), all within
    /// <paramref name="connectTimeout"/>, then the error (<see cref="TimeoutRejectedException"/> when time ran out):
    /// retrying without end would make an unreachable cluster look like a hang. A bad certificate or setting
    /// (<see cref="CliUsageException"/>) is not retried.
    /// </summary>
    public static ResiliencePipeline Connect(TimeSpan connectTimeout, TimeProvider? time = null) =>
        new ResiliencePipelineBuilder { TimeProvider = time ?? TimeProvider.System }
            .AddTimeout(connectTimeout)
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex
                    && ex is not CliUsageException
                    && !(ex is OperationCanceledException && args.Context.CancellationToken.IsCancellationRequested)),
                MaxRetryAttempts = ConnectRetries,
                Delay = TimeSpan.FromMilliseconds(500),
                BackoffType = DelayBackoffType.Constant,
                UseJitter = true,
            })
            .Build();

    /// <summary>
    /// A submit whose answer timed out may still have started the job (a loaded cluster can take longer than one
    /// response timeout to store it): asking again with the same job id is safe, the coordinator answers with the job
    /// it already has for the same spec, so no second job starts. Only timeouts are retried, without a pause (the
    /// timeout was the pause).
    /// </summary>
    public static ResiliencePipeline Submit(TimeProvider? time = null) =>
        new ResiliencePipelineBuilder { TimeProvider = time ?? TimeProvider.System }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<TimeoutException>(),
                MaxRetryAttempts = SubmitRetries,
                Delay = TimeSpan.Zero,
                BackoffType = DelayBackoffType.Constant,
            })
            .Build();

    /// <summary>
    /// One status poll of <c>watch</c>: transient failures (the silo hosting the coordinator died, a gateway moved)
    /// are retried every <paramref name="interval"/> (jittered) for up to <paramref name="patience"/>, then a
    /// <see cref="TimeoutRejectedException"/> ends the watch (the job does not depend on this client). Usage errors
    /// (<see cref="CliUsageException"/>: an unknown job) are not retried. <paramref name="onRetry"/> sees each failure.
    /// </summary>
    public static ResiliencePipeline WatchStatus(TimeSpan interval, TimeSpan patience, Func<Exception, int, ValueTask> onRetry, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(onRetry);
        return new ResiliencePipelineBuilder { TimeProvider = time ?? TimeProvider.System }
            .AddTimeout(patience)
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex
                    && ex is not CliUsageException
                    && !(ex is OperationCanceledException && args.Context.CancellationToken.IsCancellationRequested)),
                MaxRetryAttempts = int.MaxValue,
                Delay = interval,
                BackoffType = DelayBackoffType.Constant,
                UseJitter = true,
                OnRetry = args => onRetry(args.Outcome.Exception!, args.AttemptNumber),
            })
            .Build();
    }
}
