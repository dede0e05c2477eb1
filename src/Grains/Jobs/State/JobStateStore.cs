using System.Globalization;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Options;
using MobileNet.Orleans.Grains.Diagnostics;
using MobileNet.Orleans.Grains.Storage;
using Orleans.Serialization;
using Orleans.Storage;

namespace MobileNet.Orleans.Grains.Jobs.State;

/// <summary>A stored value with the version tag a later write must match.</summary>
public sealed record Stored<T>(T Value, ETag ETag);

/// <summary>
/// Job coordinators' durable state in blob storage: a header blob per job and one blob per segment of shards
/// (<c>{jobId}/header.bin</c>, <c>{jobId}/segments/000000.bin</c>, Orleans binary format). Every write is
/// conditional on the version read or written last, so a second activation of the same job (a split during a
/// membership change) fails with <see cref="InconsistentStateException"/> instead of overwriting the other.
/// </summary>
public sealed class JobStateStore(JobStorage storage, Serializer serializer, JobMetrics metrics, IOptions<CoordinatorOptions> options)
{
    private readonly BlobContainerClient container = storage.Coordinator.GetBlobContainerClient(options.Value.StateContainer);
    private int containerReady;

    public Task<Stored<JobCoordinatorState>?> ReadHeaderAsync(string jobId, CancellationToken cancellationToken) =>
        ReadAsync<JobCoordinatorState>(HeaderBlob(jobId), cancellationToken);

    public Task<ETag> WriteHeaderAsync(string jobId, JobCoordinatorState header, ETag? etag, CancellationToken cancellationToken) =>
        WriteAsync(HeaderBlob(jobId), header, etag, cancellationToken);

    public Task<Stored<ShardSegmentRecord>?> ReadSegmentAsync(string jobId, int index, CancellationToken cancellationToken) =>
        ReadAsync<ShardSegmentRecord>(SegmentBlob(jobId, index), cancellationToken);

    public Task<ETag> WriteSegmentAsync(string jobId, ShardSegmentRecord segment, ETag? etag, CancellationToken cancellationToken) =>
        WriteAsync(SegmentBlob(jobId, segment.Index), segment, etag, cancellationToken);

    internal static string HeaderBlob(string jobId) => $"{jobId}/header.bin";

    internal static string SegmentBlob(string jobId, int index) =>
        string.Create(CultureInfo.InvariantCulture, $"{jobId}/segments/{index:D6}.bin");

    private async Task<Stored<T>?> ReadAsync<T>(string name, CancellationToken cancellationToken)
    {
        try
        {
            var response = await container.GetBlobClient(name).DownloadContentAsync(cancellationToken);
            var value = serializer.Deserialize<T>(response.Value.Content.ToMemory())
                ?? throw new InvalidDataException($"job state blob '{name}' is empty");
            return new Stored<T>(value, response.Value.Details.ETag);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    private async Task<ETag> WriteAsync<T>(string name, T value, ETag? etag, CancellationToken cancellationToken)
    {
        await EnsureContainerAsync(cancellationToken);
        var bytes = serializer.SerializeToArray(value);
        // A blob not written yet must not exist: another activation may have created it meanwhile.
        var conditions = etag is { } tag ? new BlobRequestConditions { IfMatch = tag } : new BlobRequestConditions { IfNoneMatch = ETag.All };
        try
        {
            var response = await container.GetBlobClient(name).UploadAsync(
                BinaryData.FromBytes(bytes), new BlobUploadOptions { Conditions = conditions }, cancellationToken);
            metrics.StateWritten(bytes.Length);
            return response.Value.ETag;
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            throw new InconsistentStateException($"job state blob '{name}' was changed by another activation ({ex.ErrorCode})", ex);
        }
    }

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref containerReady) == 0)
        {
            await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            Volatile.Write(ref containerReady, 1);
        }
    }
}
