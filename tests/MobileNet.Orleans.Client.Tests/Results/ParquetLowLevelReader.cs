using MobileNet.Inference;
using Parquet;
using Parquet.Schema;

namespace MobileNet.Orleans.Client.Tests.Results;

/// <summary>
/// Reads a results Parquet file column by column with Parquet.Net's low-level reader (definition and repetition
/// levels), not the serializer that wrote it, and rebuilds the rows: the check that the file stands on its own.
/// </summary>
internal static class ParquetLowLevelReader
{
    public static async Task<(List<(LabelingRecord Record, string JobId)> Rows, int RowGroups, IReadOnlyList<string> Columns)> ReadAsync(string path)
    {
        await using var stream = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(stream);
        var fields = reader.Schema.GetDataFields();
        var rows = new List<(LabelingRecord, string)>();
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var count = (int)group.RowCount;
            var images = await StringsAsync(group, Field(fields, "image"));
            var errors = await StringsAsync(group, Field(fields, "error"));
            var models = await StringsAsync(group, Field(fields, "model_sha256"));
            var jobs = await StringsAsync(group, Field(fields, "job_id"));
            var indexes = await ListsAsync<int>(group, Field(fields, "top_index"), count);
            var labels = await StringListsAsync(group, Field(fields, "top_label"), count);
            var scores = await ListsAsync<float>(group, Field(fields, "top_score"), count);
            for (var i = 0; i < count; i++)
            {
                var top = indexes[i].Select((index, k) => new LabelScore(index, labels[i][k], scores[i][k])).ToList();
                rows.Add((new LabelingRecord(images[i]!, top, errors[i]) { Model = models[i] }, jobs[i]!));
            }
        }

        return (rows, reader.RowGroupCount, fields.Select(f => f.Path.ToString()).ToList());
    }

    private static DataField Field(DataField[] fields, string name) =>
        fields.Single(f => f.Path.ToString() == name || f.Path.ToString().StartsWith(name + ".", StringComparison.Ordinal) || f.Path.ToString().StartsWith(name + "/", StringComparison.Ordinal));

    private static async Task<string?[]> StringsAsync(ParquetRowGroupReader group, DataField field)
    {
        var values = new string?[group.RowCount];
        await group.ReadAsync(field, values.AsMemory(), null);
        return values;
    }

    private static async Task<List<List<T>>> ListsAsync<T>(ParquetRowGroupReader group, DataField field, int rows)
        where T : struct
    {
        var entries = Entries(group, field);
        var values = new T[entries];
        var definition = new int[entries];
        var repetition = new int[entries];
        // Raw: dense values, plus a definition and a repetition level per entry.
        await group.ReadRawAsync<T>(field, values.AsMemory(), definition.AsMemory(), repetition.AsMemory());
        var next = 0;
        return Rebuild(definition.Select(d => d == field.MaxDefinitionLevel ? (values[next++], true) : (default(T), false)).ToArray(), repetition, rows);
    }

    private static async Task<List<List<string>>> StringListsAsync(ParquetRowGroupReader group, DataField field, int rows)
    {
        var entries = Entries(group, field);
        var values = new ReadOnlyMemory<char>[entries];
        var definition = new int[entries];
        var repetition = new int[entries];
        await group.ReadRawAsync<ReadOnlyMemory<char>>(field, values.AsMemory(), definition.AsMemory(), repetition.AsMemory());
        var next = 0;
        return Rebuild(definition.Select(d => d == field.MaxDefinitionLevel ? (values[next++].ToString(), true) : ("", false)).ToArray(), repetition, rows);
    }

    private static int Entries(ParquetRowGroupReader group, DataField field) => (int)group.GetMetadata(field)!.MetaData!.NumValues;

    /// <summary>Entries plus repetition levels to lists: a new list at level 0; a null entry there is an empty list (elements are never null).</summary>
    private static List<List<T>> Rebuild<T>((T Value, bool Present)[] entries, int[] repetitions, int rows)
    {
        var lists = new List<List<T>>(rows);
        for (var i = 0; i < entries.Length; i++)
        {
            if (repetitions[i] == 0)
            {
                lists.Add([]);
            }

            if (entries[i].Present)
            {
                lists[^1].Add(entries[i].Value);
            }
        }

        return lists;
    }
}
