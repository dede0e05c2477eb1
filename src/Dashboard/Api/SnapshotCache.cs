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

            // Stored before the fetch starts, so a fetch that fails at once still finds (and removes) its own entry.
            var source = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            entry = new Entry(source.Task, now);
            entries[key] = entry;
            _ = FetchAsync(key, entry, source, fetch);
            return source.Task;
        }
    }

    private async Task FetchAsync(string key, Entry entry, TaskCompletionSource<T> source, Func<Task<T>> fetch)
    {
        try
        {
            source.SetResult(await fetch());
        }
#pragma warning disable CA1031 // Handed to every waiting caller through the task.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            entries.TryRemove(KeyValuePair.Create(key, entry));
            source.SetException(ex);
        }
    }

    private sealed record Entry(Task<T> Value, DateTimeOffset At);
}
