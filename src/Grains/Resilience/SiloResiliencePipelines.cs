using Azure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MobileNet.Orleans.Grains.Jobs;
using MobileNet.Orleans.Grains.Workers;
using Polly;
using Polly.Retry;

namespace MobileNet.Orleans.Grains.Resilience;

/// <summary>
/// The silo's retry policies, one per kind of call, registered with Polly's registry (telemetry: Polly's logs and its
/// <c>Polly</c> meter, tagged with the pipeline's key). Callers get them from <c>ResiliencePipelineProvider&lt;string&gt;</c>
/// and pass the job id as the operation key.
/// </summary>
public static partial class SiloResiliencePipelines
{
    /// <summary>A worker reporting a finished shard to its coordinator: a lost report costs a redo, so a few tries.</summary>
    public const string CoordinatorReport = "mobilenet-coordinator-report";

    /// <summary>A worker asking the job registry which jobs are active: retried, more slowly, until it answers or the silo stops.</summary>
    public const string RegistryPoll = "mobilenet-registry-poll";

    /// <summary>A coordinator listing its source: storage trouble is waited out with a growing pause, from the last cut.</summary>
    public const string SourceListing = "mobilenet-source-listing";

    /// <summary>Reports: 5 retries (6 tries) 0.5, 1, 2, 4, 8 s apart (exponential, jittered), each try bounded by the worker's call timeout.</summary>
    public const int CoordinatorReportRetries = 5;

    public static readonly TimeSpan CoordinatorReportFirstDelay = TimeSpan.FromMilliseconds(500);

    /// <summary>Registry polls: 0.5 s doubling up to 5 s between tries, without end (the worker has nothing else to do).</summary>
    public static readonly TimeSpan RegistryPollFirstDelay = TimeSpan.FromMilliseconds(500);

    public static readonly TimeSpan RegistryPollMaxDelay = TimeSpan.FromSeconds(5);

    /// <summary>Listing: 1 s doubling up to 30 s between tries, without end (the job waits for its storage).</summary>
    public static readonly TimeSpan SourceListingFirstDelay = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan SourceListingMaxDelay = TimeSpan.FromSeconds(30);

    /// <summary>Registers the pipelines; their time comes from the container's <see cref="TimeProvider"/>.</summary>
    public static IServiceCollection AddSiloResiliencePipelines(this IServiceCollection services)
    {
        Add(services, CoordinatorReport, (builder, provider, logger) => ConfigureCoordinatorReport(builder, provider.GetRequiredService<IOptions<WorkerOptions>>().Value.CallTimeout, logger));
        Add(services, RegistryPoll, (builder, provider, logger) => ConfigureRegistryPoll(builder, provider.GetRequiredService<IOptions<WorkerOptions>>().Value.CallTimeout, logger));
        Add(services, SourceListing, (builder, _, logger) => ConfigureSourceListing(builder, logger));
        return services;
    }

    /// <summary>Any failure but cancellation is retried; each try gets <paramref name="callTimeout"/> (a call to a dead silo would wait 30 s).</summary>
    public static ResiliencePipelineBuilder ConfigureCoordinatorReport(ResiliencePipelineBuilder builder, TimeSpan callTimeout, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException),
                MaxRetryAttempts = CoordinatorReportRetries,
                Delay = CoordinatorReportFirstDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                OnRetry = args =>
                {
                    LogReportRetry(logger, args.Outcome.Exception, args.Context.OperationKey, args.AttemptNumber + 1, args.RetryDelay.TotalSeconds);
                    return default;
                },
            })
            .AddTimeout(callTimeout);
    }

    /// <summary>Any failure but cancellation is retried for as long as the silo runs; each try gets <paramref name="callTimeout"/>.</summary>
    public static ResiliencePipelineBuilder ConfigureRegistryPoll(ResiliencePipelineBuilder builder, TimeSpan callTimeout, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // Anything but this worker stopping: a cancellation from elsewhere (a call cut off) is a failure like another.
        var retry = Unbounded(RegistryPollFirstDelay, RegistryPollMaxDelay, args => ValueTask.FromResult(args.Outcome.Exception is { } ex && !(ex is OperationCanceledException && args.Context.CancellationToken.IsCancellationRequested)));
        retry.OnRetry = args =>
        {
            // The registry's silo just died, or storage is down: ask again a little later.
            LogPollFailed(logger, args.Outcome.Exception, args.RetryDelay.TotalSeconds);
            return default;
        };
        return builder.AddRetry(retry).AddTimeout(callTimeout);
    }

    /// <summary>
    /// Storage trouble is retried without end; what retrying cannot fix ends the job instead: a missing source or
    /// manifest (404), a manifest naming images outside the scope, cancellation.
    /// </summary>
    public static ResiliencePipelineBuilder ConfigureSourceListing(ResiliencePipelineBuilder builder, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var retry = Unbounded(SourceListingFirstDelay, SourceListingMaxDelay, new PredicateBuilder().Handle<Exception>(IsTransientListingFailure));
        retry.OnRetry = args =>
        {
            LogListingRetry(logger, args.Outcome.Exception, args.Context.OperationKey, args.RetryDelay.TotalSeconds);
            return default;
        };
        return builder.AddRetry(retry);
    }

    /// <summary>Retries without end, doubling (jittered) from <paramref name="first"/> up to <paramref name="max"/> between tries.</summary>
    private static RetryStrategyOptions Unbounded(TimeSpan first, TimeSpan max, Func<RetryPredicateArguments<object>, ValueTask<bool>> shouldHandle) => new()
    {
        ShouldHandle = shouldHandle,
        MaxRetryAttempts = int.MaxValue,
        Delay = first,
        MaxDelay = max,
        BackoffType = DelayBackoffType.Exponential,
        UseJitter = true,
    };

    /// <summary>Whether a listing failure is worth waiting out (storage down, throttled, a timeout) rather than ending the job.</summary>
    public static bool IsTransientListingFailure(Exception exception) => exception switch
    {
        OperationCanceledException => false,
        InvalidManifestException => false,
        RequestFailedException { Status: 404 } => false,
        _ => true,
    };

    private static void Add(IServiceCollection services, string key, Action<ResiliencePipelineBuilder, IServiceProvider, ILogger> configure) =>
        services.AddResiliencePipeline(key, (builder, context) =>
        {
            builder.TimeProvider = context.ServiceProvider.GetRequiredService<TimeProvider>();
            configure(builder, context.ServiceProvider, context.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SiloResiliencePipelines)));
        });

    /// <summary>
    /// A context for a call from a grain: continuations stay on the activation's scheduler (Polly's default leaves
    /// it, which would break the grain's single-threaded turns). Return it with <see cref="ResilienceContextPool.Return"/>.
    /// </summary>
    public static ResilienceContext GrainContext(string operationKey, CancellationToken cancellationToken) =>
        ResilienceContextPool.Shared.Get(operationKey, continueOnCapturedContext: true, cancellationToken);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: reporting to the coordinator failed (try {Attempt}); retrying in {Seconds:F1} s")]
    private static partial void LogReportRetry(ILogger logger, Exception? exception, string? jobId, int attempt, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not fetch active jobs; next try in {Seconds:F1} s")]
    private static partial void LogPollFailed(ILogger logger, Exception? exception, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} listing failed; retrying in {Seconds:F1} s")]
    private static partial void LogListingRetry(ILogger logger, Exception? exception, string? jobId, double seconds);
}
