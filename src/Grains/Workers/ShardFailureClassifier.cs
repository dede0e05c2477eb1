using Azure;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Grains.Models;
using Polly.Timeout;

namespace MobileNet.Orleans.Grains.Workers;

/// <summary>Turns what broke a shard attempt into the typed failure the coordinator's attempt rules read.</summary>
public static class ShardFailureClassifier
{
    public static ShardAttemptFailure Classify(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var storageError = Find<RequestFailedException>(exception);
        var kind = exception switch
        {
            // Throttling anywhere on the way (a model download too) is the account's load, not the shard's fault.
            _ when storageError is { Status: 429 or 503 } => ShardFailureKind.StorageThrottled,
            ModelUnavailableException => ShardFailureKind.ModelUnavailable,
            RequestFailedException => ShardFailureKind.Storage,
            TimeoutException or TimeoutRejectedException => ShardFailureKind.Timeout,
            _ => ShardFailureKind.Processing,
        };
        var reason = exception switch
        {
            ModelUnavailableException => exception.Message,
            RequestFailedException e => $"storage error {e.Status} {e.ErrorCode}: {FirstLine(e.Message)}",
            TimeoutException or TimeoutRejectedException => $"timed out: {FirstLine(exception.Message)}",
            _ => $"{exception.GetType().Name}: {FirstLine(exception.Message)}",
        };
        return new ShardAttemptFailure { Kind = kind, Reason = reason, StorageStatus = storageError?.Status };
    }

    private static T? Find<T>(Exception exception)
        where T : Exception
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is T match)
            {
                return match;
            }
        }

        return null;
    }

    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }
}
