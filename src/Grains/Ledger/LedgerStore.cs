using System.Globalization;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Options;
using MobileNet.Orleans.Contracts.Ledger;
using MobileNet.Orleans.Grains.Jobs;
using MobileNet.Orleans.Grains.Jobs.State;
using MobileNet.Orleans.Grains.Storage;
using Orleans.Serialization;
using Orleans.Storage;

namespace MobileNet.Orleans.Grains.Ledger;

/// <summary>
/// Ledgers in the job-state container: <c>ledgers/{id}/header.bin</c> (the snapshot, Orleans binary, written with an
/// ETag condition like the job headers) and <c>ledgers/{id}/v{version}/{n}.jsonl</c> (entries in name order,
/// <see cref="SegmentSize"/> per blob). A commit writes a whole new version's segments, then the header that names
/// them, so a reader always sees one complete version; the version before stays for readers still on it.
/// </summary>
public sealed class LedgerStore(JobStorage storage, Serializer serializer, IOptions<CoordinatorOptions> options)
{
    public const int SegmentSize = 4096;

    private readonly BlobContainerClient container = storage.Coordinator.GetBlobContainerClient(options.Value.StateContainer);

    public string ContainerName => container.Name;

    public BlobContainerClient Container => container;

    public async Task<Stored<LedgerSnapshot>?> ReadHeaderAsync(string ledgerId, CancellationToken cancellationToken)
    {
        try
        {
            var response = await container.GetBlobClient(HeaderBlob(ledgerId)).DownloadContentAsync(cancellationToken);
            var value = serializer.Deserialize<LedgerSnapshot>(response.Value.Content.ToMemory())
                ?? throw new InvalidDataException($"ledger {ledgerId}: header is empty");
            return new Stored<LedgerSnapshot>(value, response.Value.Details.ETag);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    public async Task WriteHeaderAsync(string ledgerId, LedgerSnapshot snapshot, ETag? etag, CancellationToken cancellationToken)
    {
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        var conditions = etag is { } tag ? new BlobRequestConditions { IfMatch = tag } : new BlobRequestConditions { IfNoneMatch = ETag.All };
        try
        {
            await container.GetBlobClient(HeaderBlob(ledgerId)).UploadAsync(
                BinaryData.FromBytes(serializer.SerializeToArray(snapshot)), new BlobUploadOptions { Conditions = conditions }, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            throw new InconsistentStateException($"ledger {ledgerId} was changed by another commit ({ex.ErrorCode})", ex);
        }
    }

    public static string SegmentBlob(string ledgerId, int version, int index) =>
        string.Create(CultureInfo.InvariantCulture, $"{LabelLedgerKey.Folder(ledgerId)}v{version:D6}/{index:D6}.jsonl");

    public async Task WriteSegmentAsync(string blob, IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken)
    {
        var text = new StringBuilder(entries.Count * 96);
        foreach (var entry in entries)
        {
            text.Append(LedgerEntryFormat.ToLine(entry)).Append('\n');
        }

        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await container.GetBlobClient(blob).UploadAsync(BinaryData.FromString(text.ToString()), overwrite: true, cancellationToken);
    }

    public async Task<IReadOnlyList<LedgerEntry>> ReadSegmentAsync(string blob, CancellationToken cancellationToken)
    {
        var content = await container.GetBlobClient(blob).DownloadContentAsync(cancellationToken);
        return content.Value.Content.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(LedgerEntryFormat.Parse).ToArray();
    }

    /// <summary>Every entry of a snapshot, in name order, one segment in memory at a time.</summary>
    public async IAsyncEnumerable<LedgerEntry> ReadEntriesAsync(LedgerSnapshot? snapshot, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (snapshot is null)
        {
            yield break;
        }

        foreach (var segment in snapshot.Segments)
        {
            foreach (var entry in await ReadSegmentAsync(segment.Blob, cancellationToken))
            {
                yield return entry;
            }
        }
    }

    /// <summary>Removes a superseded version's segments (best effort: a leftover costs storage, not correctness).</summary>
    public async Task DeleteVersionAsync(string ledgerId, int version, CancellationToken cancellationToken)
    {
        var prefix = string.Create(CultureInfo.InvariantCulture, $"{LabelLedgerKey.Folder(ledgerId)}v{version:D6}/");
        await foreach (var item in container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, cancellationToken))
        {
            await container.DeleteBlobIfExistsAsync(item.Name, cancellationToken: cancellationToken);
        }
    }

    private static string HeaderBlob(string ledgerId) => LabelLedgerKey.Folder(ledgerId) + "header.bin";
}
