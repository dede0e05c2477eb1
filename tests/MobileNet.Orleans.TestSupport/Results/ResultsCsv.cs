using System.Globalization;
using nietras.SeparatedValues;

namespace MobileNet.Orleans.Testing.Results;

/// <summary>Reads CSV files with Sep (RFC 4180 quoting), so tests never share the results writer's own logic.</summary>
public static class ResultsCsv
{
    /// <summary>One results row as the tests check it: the image, its top-1 index and label (-1/null for an error row) and the error, if any.</summary>
    public sealed record Row(string Image, int Top1, string? Label1, string? Error);

    /// <summary>The rows of a results CSV written by <c>classify</c> or <c>results</c>.</summary>
    public static List<Row> Read(string path)
    {
        using var reader = Reader(path);
        var columns = reader.Header.ColNames;
        Assert.Equal(["image", "index_1", "label_1", "score_1"], columns.Take(4));
        Assert.Contains("error", columns);
        var rows = new List<Row>();
        foreach (var row in reader)
        {
            var index = row["index_1"].ToString();
            var label = row["label_1"].ToString();
            var error = row["error"].ToString();
            rows.Add(new Row(
                row["image"].ToString(),
                index.Length == 0 ? -1 : int.Parse(index, CultureInfo.InvariantCulture),
                label.Length == 0 ? null : label,
                error.Length == 0 ? null : error));
        }

        return rows;
    }

    /// <summary>Every record of a CSV file with a header (e.g. the fixtures' labels.csv), as column name to value.</summary>
    public static List<Dictionary<string, string>> ReadRecords(string path)
    {
        using var reader = Reader(path);
        var columns = reader.Header.ColNames;
        var records = new List<Dictionary<string, string>>();
        foreach (var row in reader)
        {
            var record = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var column in columns)
            {
                record[column] = row[column].ToString();
            }

            records.Add(record);
        }

        return records;
    }

    private static SepReader Reader(string path) => Sep.New(',').Reader(o => o with { Unescape = true }).FromFile(path);
}
