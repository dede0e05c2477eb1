using System.Text.Json.Serialization;
using MobileNet.Inference;
using Parquet;
using Parquet.Serialization;

namespace MobileNet.Orleans.Client.Results.Formats;

/// <summary>One Parquet row: typed columns, the top-k as three parallel lists (index, label, score) in rank order.</summary>
public sealed class ParquetResultRow
{
    [JsonPropertyName("image")]
    public string Image { get; set; } = "";

    [JsonPropertyName("top_index")]
    public List<int> TopIndex { get; set; } = [];

    [JsonPropertyName("top_label")]
    public List<string> TopLabel { get; set; } = [];

    [JsonPropertyName("top_score")]
    public List<float> TopScore { get; set; } = [];

    /// <summary><c>code: reason</c> for an image that could not be labeled, else null.</summary>
    [JsonPropertyName("error")]
    public string? Error { get; set; }

    [JsonPropertyName("model_sha256")]
    public string? ModelSha256 { get; set; }

    [JsonPropertyName("job_id")]
    public string JobId { get; set; } = "";

    public static ParquetResultRow From(LabelingRecord record, string jobId)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new ParquetResultRow
        {
            Image = record.Image,
            TopIndex = record.Labels.Select(l => l.Index).ToList(),
            TopLabel = record.Labels.Select(l => l.Label).ToList(),
            TopScore = record.Labels.Select(l => l.Score).ToList(),
            Error = record.Error,
            ModelSha256 = record.Model,
            JobId = jobId,
        };
    }
}

/// <summary>
/// Streams rows into a Parquet file one row group at a time (<see cref="RowGroupSize"/> rows, appended to the file),
/// so memory holds one row group whatever the job's size. The stream must be readable and seekable (a file):
/// appending a row group rewrites the footer.
/// </summary>
public sealed class ParquetResultSink(Stream stream) : IResultSink
{
    public const int DefaultRowGroupSize = 50_000;

    private readonly List<ParquetResultRow> buffer = [];
    private bool written;

    public int RowGroupSize { get; init; } = DefaultRowGroupSize;

    public async ValueTask WriteAsync(LabelingRecord record, string jobId, CancellationToken cancellationToken)
    {
        buffer.Add(ParquetResultRow.From(record, jobId));
        if (buffer.Count >= RowGroupSize)
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        // An empty result still gets a valid file (schema, no rows).
        if (buffer.Count > 0 || !written)
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        var options = new ParquetOptions { Append = written, RowGroupSize = Math.Max(1, buffer.Count) };
        await ParquetSerializer.SerializeAsync(buffer, stream, options, cancellationToken: cancellationToken).ConfigureAwait(false);
        written = true;
        buffer.Clear();
    }
}
