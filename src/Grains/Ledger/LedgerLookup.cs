using MobileNet.Orleans.Contracts.Ledger;

namespace MobileNet.Orleans.Grains.Ledger;

/// <summary>
/// Answers "was this blob (name + ETag) labeled already?" for an incremental job's listing, against one ledger
/// snapshot. Names arrive in listing order, so the segment that holds them is found by its first name and kept
/// while names stay in it: one segment in memory, one read per segment.
/// </summary>
public sealed class LedgerLookup(LedgerSnapshot? snapshot, Func<string, CancellationToken, Task<IReadOnlyList<LedgerEntry>>> readSegment)
{
    private int loadedIndex = -1;
    private Dictionary<string, string?> loaded = new(StringComparer.Ordinal);

    /// <summary>True when the ledger records this name with this ETag: the job skips it.</summary>
    public async Task<bool> IsLabeledAsync(string name, string? etag, CancellationToken cancellationToken)
    {
        if (snapshot is null || snapshot.Segments.Count == 0 || string.IsNullOrEmpty(etag))
        {
            return false;
        }

        var index = SegmentFor(name);
        if (index < 0)
        {
            return false;
        }

        if (index != loadedIndex)
        {
            var entries = await readSegment(snapshot.Segments[index].Blob, cancellationToken);
            loaded = entries.ToDictionary(e => e.Name, e => e.ETag, StringComparer.Ordinal);
            loadedIndex = index;
        }

        return loaded.TryGetValue(name, out var recorded) && recorded == etag;
    }

    /// <summary>The last segment whose first name is at or before <paramref name="name"/> (-1: before the first).</summary>
    private int SegmentFor(string name)
    {
        var segments = snapshot!.Segments;
        int low = 0, high = segments.Count - 1, found = -1;
        while (low <= high)
        {
            var mid = (low + high) / 2;
            if (string.CompareOrdinal(segments[mid].FirstName, name) <= 0)
            {
                found = mid;
                low = mid + 1;
            }
            else
            {
                high = mid - 1;
            }
        }

        return found;
    }
}
