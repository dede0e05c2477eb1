using System.Runtime.CompilerServices;
using MobileNet.Inference;
using MobileNet.Orleans.Contracts.Jobs;

namespace MobileNet.Orleans.Client.Results;

/// <summary>
/// A job's result rows by image name, each image once: a container listing job's shards pass straight through
/// (their order is checked), a manifest job's rows go through the external merge sort. Memory stays bounded.
/// </summary>
public static class JobResultRecords
{
    public static async IAsyncEnumerable<LabelingRecord> ReadAsync(ShardResultReader reader, JobStatus status, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(status);
        var lines = reader.ReadAsync(status.ShardsTotal, cancellationToken);
        // A follow job's rounds each list in name order, but a later round's names may sort before an earlier one's.
        if (status.Spec.ManifestBlob is null && status.Spec.FollowEvery is null)
        {
            await foreach (var line in ListingOrderCheck.CheckAsync(lines, cancellationToken).ConfigureAwait(false))
            {
                yield return LabelingRecordFormat.ParseJsonLine(line);
            }

            yield break;
        }

        // A manifest lists images in any order: sort. The merger pushes lines; a small channel turns that into a pull.
        var sorted = BoundedProducer.ReadAsync<LabelingRecord>(
            256,
            (writer, ct) => new ResultMerger().MergeAsync(Lines(lines, ct), (line, c) => writer.WriteAsync(LabelingRecordFormat.ParseJsonLine(line), c), ct),
            abandon: null,
            cancellationToken);
        await foreach (var record in sorted.ConfigureAwait(false))
        {
            yield return record;
        }
    }

    private static async IAsyncEnumerable<string> Lines(IAsyncEnumerable<ShardLine> lines, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var line in lines.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return line.Line;
        }
    }
}
