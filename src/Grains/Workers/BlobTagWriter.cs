using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using MobileNet.Orleans.Contracts.Labels;

namespace MobileNet.Orleans.Grains.Workers;

/// <summary>What happened when tagging one blob.</summary>
public enum TagOutcome
{
    Tagged,

    /// <summary>The user's own tags leave no room for ours (Azure allows 10): nothing written, theirs kept.</summary>
    NoRoom,

    /// <summary>The blob was deleted, or its tags kept changing under us: nothing written.</summary>
    Gone,

    /// <summary>The storage identity may not write tags on this blob (needs tag write permission).</summary>
    Forbidden,
}

/// <summary>
/// Writes a job's label tags onto a source blob, keeping the user's own: read the tags, replace only the
/// <c>mnl-</c> keys, write them back on the condition (x-ms-if-tags) that the tags are still what was read, so a
/// user tag added meanwhile is never lost (a changed blob is read again, a few times). Setting tags does not
/// change the blob's content, properties or ETag.
/// </summary>
public sealed partial class BlobTagWriter(ILogger<BlobTagWriter> logger)
{
    private const int Attempts = 4;

    public async Task<TagOutcome> WriteAsync(BlobClient blob, IReadOnlyDictionary<string, string> ours, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        ArgumentNullException.ThrowIfNull(ours);
        for (var attempt = 1; attempt <= Attempts; attempt++)
        {
            try
            {
                var current = (await blob.GetTagsAsync(cancellationToken: cancellationToken)).Value.Tags;
                var users = current.Where(t => !BlobLabelTags.IsOwn(t.Key)).ToList();
                if (users.Count + ours.Count > BlobLabelTags.MaxTagsPerBlob)
                {
                    LogNoRoom(logger, blob.BlobContainerName, blob.Name, users.Count);
                    return TagOutcome.NoRoom;
                }

                if (ours.All(t => current.TryGetValue(t.Key, out var v) && v == t.Value) && current.Count == users.Count + ours.Count)
                {
                    return TagOutcome.Tagged;
                }

                var next = users.Concat(ours).ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal);
                // With no tags at all there is nothing to compare; the window for a user tag to slip in is one round trip.
                var conditions = current.Count == 0 ? null : new BlobRequestConditions { TagConditions = BlobLabelTags.MatchExpression(current) };
                await blob.SetTagsAsync(next, conditions, cancellationToken);
                return TagOutcome.Tagged;
            }
            catch (RequestFailedException ex) when (ex.Status == 412)
            {
                // The tags changed between our read and our write: read them again.
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                return TagOutcome.Gone;
            }
            catch (RequestFailedException ex) when (ex.Status == 403)
            {
                LogForbidden(logger, blob.BlobContainerName, blob.Name, ex.ErrorCode ?? "403");
                return TagOutcome.Forbidden;
            }
        }

        return TagOutcome.Gone;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Blob {Container}/{Blob} not tagged: its {UserTags} own tags leave no room for the job's 4 (Azure allows 10 per blob)")]
    private static partial void LogNoRoom(ILogger logger, string container, string blob, int userTags);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Blob {Container}/{Blob} not tagged: the silo's storage identity may not write tags ({Code})")]
    private static partial void LogForbidden(ILogger logger, string container, string blob, string code);
}
