using System.Collections.Concurrent;

namespace MobileNet.Orleans.Dashboard.Api;

/// <summary>
/// Answers every request for the same key from one fetch for <c>ttl</c>: however many pages are open, the cluster
/// sees one query per key and period. Concurrent requests for a stale key share the one fetch in flight; a failed
/// fetch is not kept.
/// </summary>
public sealed class SnapshotCache<T>(TimeSpan ttl, TimeProvider time, int maxEntries = 512)
{
    private readonly ConcurrentDictionary<string, Entry> entries = new(StringComparer.Ordinal);

    public Task<T> GetAsync(string key, Func<Task<T>> fetch)
    {
        ArgumentNullException.ThrowIfNull(fetch);
        var now = time.GetUtcNow();
        if (entries.TryGetValue(key, out var entry) && (now - entry.At < ttl || !entry.Value.IsCompleted))
        {
            return entry.Value;
        }

        lock (entries)
        {
            if (entries.TryGetValue(key, out entry) && (now - entry.At < ttl || !entry.Value.IsCompleted))
            {
                return entry.Value;
            }

            if (entries.Count >= maxEntries)
            {
                foreach (var stale in entries.Where(e => now - e.Value.At >= ttl && e.Value.Value.IsCompleted).Select(e => e.Key).ToArray())
                {
                    entries.TryRemove(stale, out _);
                }
            }

            var task = FetchAsync(key, fetch);
            entries[key] = new Entry(task, now);
            return task;
        }
    }

    private async Task<T> FetchAsync(string key, Func<Task<T>> fetch)
    {
        try
        {
            return await fetch();
        }
        catch
        {
            entries.TryRemove(key, out _);
            throw;
        }
    }

    private sealed record Entry(Task<T> Value, DateTimeOffset At);
}
