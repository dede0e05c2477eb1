using Azure;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Grains.Models;
using MobileNet.Orleans.Grains.Workers;

namespace MobileNet.Orleans.Grains.Tests.Workers;

public sealed class ShardFailureClassifierTests
{
    [Theory]
    [InlineData(429, ShardFailureKind.StorageThrottled)]
    [InlineData(503, ShardFailureKind.StorageThrottled)]
    [InlineData(500, ShardFailureKind.Storage)]
    [InlineData(403, ShardFailureKind.Storage)]
    public void Classify_StorageError_KindFromItsStatus(int status, ShardFailureKind expected)
    {
        var failure = ShardFailureClassifier.Classify(new RequestFailedException(status, "busy\nsecond line", "ServerBusy", null));

        Assert.Equal(expected, failure.Kind);
        Assert.Equal(status, failure.StorageStatus);
        Assert.Equal($"storage error {status} ServerBusy: busy", failure.Reason);
    }

    [Fact]
    public void Classify_ModelDownloadThrottled_Throttled()
    {
        var failure = ShardFailureClassifier.Classify(new ModelUnavailableException(ModelUnavailableReason.NotFound, "model 'm': busy", new RequestFailedException(503, "busy")));

        Assert.Equal(ShardFailureKind.StorageThrottled, failure.Kind);
    }

    [Fact]
    public void Classify_OtherFailures_CountedKinds()
    {
        Assert.Equal(ShardFailureKind.ModelUnavailable, ShardFailureClassifier.Classify(new ModelUnavailableException(ModelUnavailableReason.HashMismatch, "sha mismatch")).Kind);
        Assert.Equal(ShardFailureKind.Timeout, ShardFailureClassifier.Classify(new TimeoutException("slow")).Kind);
        var crash = ShardFailureClassifier.Classify(new InvalidOperationException("boom"));
        Assert.Equal((ShardFailureKind.Processing, "InvalidOperationException: boom"), (crash.Kind, crash.Reason));
    }
}
