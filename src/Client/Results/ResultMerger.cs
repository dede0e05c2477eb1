using System.Text;
using System.Text.Json;

namespace MobileNet.Orleans.Client.Results;

/// <summary>
/// Merges JSONL result lines from many shard blobs into one stream sorted by image name (ordinal), each image once.
/// Memory stays bounded whatever the job size: lines are sorted in chunks of at most
/// <see cref="MaxBufferedChars"/> characters / <see cref="MaxBufferedLines"/> lines, spilled to temporary run files,
/// and the runs are k-way merged. An image that appears more than once (it must not: a redone shard overwrites its
/// blob) is a <see cref="DuplicateResultException"/>, never silently resolved.
/// </summary>
public sealed class ResultMerger
{
    /// <summary>Runs merged at once; more runs are first merged in groups (bounded open files).</summary>
    public const int MaxFanIn = 64;

    public int MaxBufferedLines { get; init; } = 100_000;

    /// <summary>
    /// 8 M characters (16 MB of line text, about 50,000 rows): a spilled chunk becomes garbage only at the next full
    /// collection, so the process holds a few chunks at once; this keeps `results` near 200 MB at 1,000,000 rows.
    /// </summary>
    public long MaxBufferedChars { get; init; } = 8L * 1024 * 1024;

    /// <summary>Folder for run files (default: the system temp folder); each merge uses and removes its own subfolder.</summary>
    public string? TempDirectory { get; init; }

    /// <summary>Sorts and deduplicates <paramref name="lines"/>, handing each kept line to <paramref name="write"/> in order.</summary>
    public async Task<MergeSummary> MergeAsync(IAsyncEnumerable<string> lines, Func<string, CancellationToken, ValueTask> write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lines);
        ArgumentNullException.ThrowIfNull(write);
        var workDir = Path.Combine(TempDirectory ?? Path.GetTempPath(), "mobilenet-results-" + Guid.NewGuid().ToString("N")[..12]);
        var runs = new List<string>();
        var buffer = new List<KeyedLine>();
        long bufferedChars = 0;
        long read = 0;
        try
        {
            await foreach (var line in lines.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                buffer.Add(new KeyedLine(RecordKey.Of(line), line));
                bufferedChars += line.Length;
                read++;
                if (buffer.Count >= MaxBufferedLines || bufferedChars >= MaxBufferedChars)
                {
                    Directory.CreateDirectory(workDir);
                    runs.Add(await SpillAsync(buffer, workDir, runs.Count, cancellationToken).ConfigureAwait(false));
                    buffer.Clear();
                    bufferedChars = 0;
                }
            }

            buffer.Sort(KeyedLine.Compare);
            if (runs.Count == 0)
            {
                return await WriteUniqueAsync(ToAsync(buffer), write, read, 0, cancellationToken).ConfigureAwait(false);
            }

            // Reduce the run count so the final merge keeps at most MaxFanIn files open.
            var generation = 0;
            while (runs.Count + 1 > MaxFanIn)
            {
                var merged = new List<string>();
                for (var i = 0; i < runs.Count; i += MaxFanIn)
                {
                    var group = runs.GetRange(i, Math.Min(MaxFanIn, runs.Count - i));
                    var target = Path.Combine(workDir, $"merge-{generation}-{i / MaxFanIn}.jsonl");
                    await using (var writer = new StreamWriter(target, append: false, new UTF8Encoding(false)))
                    {
                        await foreach (var item in MergeRunsAsync(group, [], cancellationToken).ConfigureAwait(false))
                        {
                            await writer.WriteAsync(item.Line.AsMemory(), cancellationToken).ConfigureAwait(false);
                            await writer.WriteAsync('\n').ConfigureAwait(false);
                        }
                    }

                    group.ForEach(File.Delete);
                    merged.Add(target);
                }

                runs = merged;
                generation++;
            }

            return await WriteUniqueAsync(MergeRunsAsync(runs, buffer, cancellationToken), write, read, runs.Count, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (Directory.Exists(workDir))
            {
                Directory.Delete(workDir, recursive: true);
            }
        }
    }

    private static async Task<MergeSummary> WriteUniqueAsync(IAsyncEnumerable<KeyedLine> sorted, Func<string, CancellationToken, ValueTask> write, long read, int runs, CancellationToken cancellationToken)
    {
        long written = 0;
        string? previous = null;
        await foreach (var item in sorted.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            // Equal images are adjacent once sorted.
            if (previous is not null && string.Equals(previous, item.Key.Image, StringComparison.Ordinal))
            {
                throw new DuplicateResultException(item.Key.Image, "in two shards' results or twice in one");
            }

            previous = item.Key.Image;
            await write(item.Line, cancellationToken).ConfigureAwait(false);
            written++;
        }

        return new MergeSummary(read, written, runs);
    }

    private static async Task<string> SpillAsync(List<KeyedLine> buffer, string workDir, int index, CancellationToken cancellationToken)
    {
        buffer.Sort(KeyedLine.Compare);
        var path = Path.Combine(workDir, $"run-{index:D5}.jsonl");
        await using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false), bufferSize: 1 << 16);
        foreach (var item in buffer)
        {
            await writer.WriteAsync(item.Line.AsMemory(), cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync('\n').ConfigureAwait(false);
        }

        return path;
    }

    /// <summary>K-way merge of sorted run files and one sorted in-memory list.</summary>
    private static async IAsyncEnumerable<KeyedLine> MergeRunsAsync(List<string> runs, List<KeyedLine> memory, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var readers = runs.Select(r => new StreamReader(r, new UTF8Encoding(false), false, 1 << 16)).ToList();
        try
        {
            var queue = new PriorityQueue<int, KeyedLine>(Comparer<KeyedLine>.Create(KeyedLine.Compare));
            var current = new KeyedLine[readers.Count + 1];
            var memoryIndex = 0;
            for (var i = 0; i < readers.Count; i++)
            {
                if (await ReadAsync(readers[i], cancellationToken).ConfigureAwait(false) is { } first)
                {
                    current[i] = first;
                    queue.Enqueue(i, first);
                }
            }

            if (memory.Count > 0)
            {
                current[readers.Count] = memory[memoryIndex++];
                queue.Enqueue(readers.Count, current[readers.Count]);
            }

            while (queue.TryDequeue(out var source, out var item))
            {
                yield return item;
                KeyedLine? next = source < readers.Count
                    ? await ReadAsync(readers[source], cancellationToken).ConfigureAwait(false)
                    : memoryIndex < memory.Count ? memory[memoryIndex++] : null;
                if (next is { } n)
                {
                    current[source] = n;
                    queue.Enqueue(source, n);
                }
            }
        }
        finally
        {
            readers.ForEach(r => r.Dispose());
        }
    }

    private static async ValueTask<KeyedLine?> ReadAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        var line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
        return line is null ? null : new KeyedLine(RecordKey.Of(line), line);
    }

#pragma warning disable CS1998 // An async iterator over an in-memory list keeps one merge path for both cases.
    private static async IAsyncEnumerable<KeyedLine> ToAsync(List<KeyedLine> items)
#pragma warning restore CS1998
    {
        foreach (var item in items)
        {
            yield return item;
        }
    }

    private readonly record struct KeyedLine(RecordKey Key, string Line)
    {
        public static int Compare(KeyedLine a, KeyedLine b) => RecordKey.Compare(a.Key, b.Key);
    }
}

/// <summary>What <see cref="ResultMerger.MergeAsync"/> did: lines read, written, run files used.</summary>
public sealed record MergeSummary(long LinesRead, long Written, int Runs);

/// <summary>The sort key of a result line: its image name, then labeled rows before error rows.</summary>
public readonly record struct RecordKey(string Image, bool IsError)
{
    public static int Compare(RecordKey a, RecordKey b)
    {
        var byName = string.CompareOrdinal(a.Image, b.Image);
        return byName != 0 ? byName : a.IsError.CompareTo(b.IsError);
    }

    /// <summary>Reads the top-level <c>image</c> and <c>error</c> members of one JSONL result line.</summary>
    public static RecordKey Of(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        string? image = null;
        var isError = false;
        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(line));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new FormatException("a result line must be a JSON object");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.CurrentDepth != 1)
                {
                    continue;
                }

                if (reader.ValueTextEquals("image"u8))
                {
                    reader.Read();
                    image = reader.TokenType == JsonTokenType.String ? reader.GetString() : throw new FormatException("\"image\" must be a string");
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    reader.Read();
                    isError = reader.TokenType != JsonTokenType.Null;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException ex)
        {
            throw new FormatException($"not a JSON result line: {ex.Message}", ex);
        }

        return image is null ? throw new FormatException("result line lacks \"image\"") : new RecordKey(image, isError);
    }
}
