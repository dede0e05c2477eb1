using MobileNet.Orleans.Contracts.Ledger;

namespace MobileNet.Orleans.Grains.Ledger;

/// <summary>
/// The ledger's one rule, without I/O: fold a job's images (name order) into the ledger's entries (name order).
/// A name the job labeled now points at the job, with the ETag the job listed (a retry lists none and keeps the one
/// recorded); every other entry stays. Output is in name order, each name once; memory holds one entry per side.
/// </summary>
public static class LedgerMerge
{
    public static async IAsyncEnumerable<LedgerEntry> MergeAsync(IAsyncEnumerable<LedgerEntry> ledger, IAsyncEnumerable<LedgerEntry> job, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(job);
        await using var old = ledger.GetAsyncEnumerator(cancellationToken);
        await using var add = job.GetAsyncEnumerator(cancellationToken);
        var hasOld = await old.MoveNextAsync();
        var hasAdd = await add.MoveNextAsync();
        string? last = null;
        while (hasOld || hasAdd)
        {
            var order = !hasOld ? 1 : !hasAdd ? -1 : string.CompareOrdinal(old.Current.Name, add.Current.Name);
            LedgerEntry next;
            if (order < 0)
            {
                next = old.Current;
                hasOld = await old.MoveNextAsync();
            }
            else
            {
                var etag = add.Current.ETag ?? (order == 0 ? old.Current.ETag : null);
                next = add.Current with { ETag = etag };
                hasAdd = await add.MoveNextAsync();
                if (order == 0)
                {
                    hasOld = await old.MoveNextAsync();
                }
            }

            if (last is not null && string.CompareOrdinal(last, next.Name) >= 0)
            {
                // A job's names come from an ordered listing; a manifest-ordered job cannot feed a ledger.
                throw new InvalidDataException($"ledger merge: '{next.Name}' does not follow '{last}' (inputs must be in name order, each name once)");
            }

            last = next.Name;
            yield return next;
        }
    }
}
