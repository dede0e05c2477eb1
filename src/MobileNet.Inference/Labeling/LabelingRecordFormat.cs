using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace MobileNet.Inference;

/// <summary>Output formats for labeling results.</summary>
public enum LabelingOutputFormat
{
    Jsonl,
    Csv,
}

/// <summary>
/// The one definition of the result formats, shared by the local <c>classify</c> command and distributed job results so
/// both produce byte-identical files. Lines carry no terminator; writers end each with <see cref="LineTerminator"/>.
/// JSONL: <c>{"image":"a.jpg","labels":[{"index":472,"label":"canoe","score":0.81}],"error":null,"model":"&lt;sha256&gt;"}</c>
/// (<c>model</c> only when known). CSV (RFC 4180 quoting):
/// <c>image,index_1,label_1,score_1,...,index_k,label_k,score_k,error,model_sha256</c>; a text cell starting with
/// <c>=</c>, <c>+</c>, <c>-</c> or <c>@</c> (which a spreadsheet would run as a formula) is prefixed with <c>'</c>.
/// Scores are written in the shortest form that round-trips the float exactly.
/// </summary>
public static class LabelingRecordFormat
{
    public const string LineTerminator = "\n";

    /// <summary>Characters that make a spreadsheet treat a cell as a formula (CSV injection).</summary>
    private static readonly SearchValues<char> FormulaStarts = SearchValues.Create("=+-@");

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Keep non-ASCII file names readable; quotes, backslashes and control characters are still escaped.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    public static string ToJsonLine(LabelingRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var buffer = new ArrayBufferWriter<byte>(128 + (record.Labels.Count * 64));
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("image", record.Image);
            writer.WriteStartArray("labels");
            foreach (var label in record.Labels)
            {
                writer.WriteStartObject();
                writer.WriteNumber("index", label.Index);
                writer.WriteString("label", label.Label);
                writer.WritePropertyName("score");
                writer.WriteRawValue(FormatScoreJson(label.Score), skipInputValidation: true);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            if (record.Error is null)
            {
                writer.WriteNull("error");
            }
            else
            {
                writer.WriteString("error", record.Error);
            }

            if (record.Model is not null)
            {
                writer.WriteString("model", record.Model);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Parses one line written by <see cref="ToJsonLine"/>; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static LabelingRecord ParseJsonLine(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("a result line must be a JSON object");
            }

            var image = root.TryGetProperty("image", out var imageElement) && imageElement.ValueKind == JsonValueKind.String
                ? imageElement.GetString()!
                : throw new FormatException("result line lacks a string \"image\"");
            if (!root.TryGetProperty("labels", out var labelsElement) || labelsElement.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException("result line lacks a \"labels\" array");
            }

            var labels = new List<LabelScore>(labelsElement.GetArrayLength());
            foreach (var item in labelsElement.EnumerateArray())
            {
                var index = item.GetProperty("index").GetInt32();
                var label = item.GetProperty("label").GetString() ?? throw new FormatException("label must be a string");
                var scoreElement = item.GetProperty("score");
                var score = scoreElement.ValueKind == JsonValueKind.Null ? float.NaN : scoreElement.GetSingle();
                labels.Add(new LabelScore(index, label, score));
            }

            string? error = null;
            if (root.TryGetProperty("error", out var errorElement) && errorElement.ValueKind != JsonValueKind.Null)
            {
                error = errorElement.ValueKind == JsonValueKind.String
                    ? errorElement.GetString()
                    : throw new FormatException("\"error\" must be a string or null");
            }

            string? model = null;
            if (root.TryGetProperty("model", out var modelElement) && modelElement.ValueKind != JsonValueKind.Null)
            {
                model = modelElement.ValueKind == JsonValueKind.String
                    ? modelElement.GetString()
                    : throw new FormatException("\"model\" must be a string or null");
            }

            return new LabelingRecord(image, labels, error) { Model = model };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"not a labeling result line: {ex.Message}", ex);
        }
    }

    public static string CsvHeader(int topK)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        var builder = new StringBuilder("image");
        for (var i = 1; i <= topK; i++)
        {
            builder.Append(CultureInfo.InvariantCulture, $",index_{i},label_{i},score_{i}");
        }

        return builder.Append(",error,model_sha256").ToString();
    }

    /// <summary>One CSV row with exactly <paramref name="topK"/> label column triples (empty cells when fewer labels).</summary>
    public static string ToCsvRow(LabelingRecord record, int topK)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        var builder = new StringBuilder(64 + (topK * 32));
        AppendCsvField(builder, record.Image);
        for (var i = 0; i < topK; i++)
        {
            builder.Append(',');
            if (i < record.Labels.Count)
            {
                var label = record.Labels[i];
                builder.Append(label.Index.ToString(CultureInfo.InvariantCulture)).Append(',');
                AppendCsvField(builder, label.Label);
                builder.Append(',').Append(float.IsFinite(label.Score) ? FormatScore(label.Score) : string.Empty);
            }
            else
            {
                builder.Append(",,");
            }
        }

        builder.Append(',');
        if (record.Error is not null)
        {
            AppendCsvField(builder, record.Error);
        }

        builder.Append(',');
        if (record.Model is not null)
        {
            AppendCsvField(builder, record.Model);
        }

        return builder.ToString();
    }

    /// <summary>Writes a header (CSV only) when <paramref name="writeHeader"/>, then the record lines, each ended by <see cref="LineTerminator"/>.</summary>
    public static async Task WriteAsync(TextWriter writer, IAsyncEnumerable<LabelingRecord> records, LabelingOutputFormat format, int topK, bool writeHeader, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(records);
        if (format == LabelingOutputFormat.Csv && writeHeader)
        {
            await writer.WriteAsync(CsvHeader(topK) + LineTerminator);
        }

        await foreach (var record in records.WithCancellation(cancellationToken))
        {
            await writer.WriteAsync(FormatLine(record, format, topK) + LineTerminator);
        }
    }

    public static string FormatLine(LabelingRecord record, LabelingOutputFormat format, int topK) =>
        format == LabelingOutputFormat.Csv ? ToCsvRow(record, topK) : ToJsonLine(record);

    /// <summary>Parses "csv" / "jsonl" (case-insensitive); throws <see cref="FormatException"/> for anything else.</summary>
    public static LabelingOutputFormat ParseFormat(string value) => value.ToLowerInvariant() switch
    {
        "csv" => LabelingOutputFormat.Csv,
        "jsonl" => LabelingOutputFormat.Jsonl,
        _ => throw new FormatException($"unknown result format '{value}': use csv or jsonl"),
    };

    private static string FormatScore(float score) => score.ToString("R", CultureInfo.InvariantCulture);

    private static string FormatScoreJson(float score) => float.IsFinite(score) ? FormatScore(score) : "null";

    private static void AppendCsvField(StringBuilder builder, string value)
    {
        // Image names, labels and errors are data from whoever named the files or uploaded the model: neutralised, not run.
        if (value.Length > 0 && FormulaStarts.Contains(value[0]))
        {
            value = "'" + value;
        }

        if (value.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            builder.Append(value);
            return;
        }

        builder.Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
    }
}
