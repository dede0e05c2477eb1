using MobileNet.Orleans.Contracts.Jobs;

namespace MobileNet.Orleans.Grains.Jobs.Progress;

/// <summary>
/// A job's error rows by code, merged from accepted shard completions: counts and the first few example image
/// names per code, at most <see cref="ErrorClass.MaxClasses"/> codes (the rest counted under <c>other</c>).
/// Bounded whatever the job's size; stored in the job's header.
/// </summary>
public sealed class ErrorClassTally
{
    public const string OtherCode = "other";
    public const string ShardFailedCode = "shard-failed";

    private readonly Dictionary<string, (long Count, List<string> Examples)> classes = new(StringComparer.Ordinal);

    public bool IsEmpty => classes.Count == 0;

    public void Add(IEnumerable<ErrorClass> shardClasses)
    {
        ArgumentNullException.ThrowIfNull(shardClasses);
        foreach (var item in shardClasses)
        {
            if (item.Count <= 0)
            {
                continue;
            }

            var code = ErrorClass.CodeOf(item.Code);
            if (!classes.ContainsKey(code) && classes.Count >= ErrorClass.MaxClasses - 1)
            {
                code = OtherCode;
            }

            if (!classes.TryGetValue(code, out var entry))
            {
                entry = (0, []);
            }

            foreach (var example in item.Examples)
            {
                if (entry.Examples.Count >= ErrorClass.MaxExamples)
                {
                    break;
                }

                if (!entry.Examples.Contains(example, StringComparer.Ordinal))
                {
                    entry.Examples.Add(example.Length <= 512 ? example : example[..512]);
                }
            }

            classes[code] = (entry.Count + item.Count, entry.Examples);
        }
    }

    /// <summary>Most frequent first (then by code); <paramref name="failedShards"/> adds the shards that failed every attempt.</summary>
    public IReadOnlyList<ErrorClass> Snapshot(long failedShardImages = 0, IEnumerable<ShardFailure>? failedShards = null)
    {
        var list = classes.Select(c => new ErrorClass { Code = c.Key, Count = c.Value.Count, Examples = [.. c.Value.Examples] }).ToList();
        if (failedShardImages > 0)
        {
            list.Add(new ErrorClass
            {
                Code = ShardFailedCode,
                Count = failedShardImages,
                Examples = [.. (failedShards ?? []).Take(ErrorClass.MaxExamples).Select(f => $"shard {f.ShardId}: {f.Reason}")],
            });
        }

        return [.. list.OrderByDescending(c => c.Count).ThenBy(c => c.Code, StringComparer.Ordinal)];
    }

    public void Restore(IEnumerable<ErrorClass>? stored)
    {
        classes.Clear();
        Add(stored ?? []);
    }
}
