using MobileNet.Inference;

namespace MobileNet.Orleans.Client.Results.Formats;

/// <summary>The files <c>mobilenet results</c> writes: the record formats of <c>classify</c>, plus Parquet and Label Studio tasks.</summary>
public enum ResultFormat
{
    Jsonl,
    Csv,
    Parquet,
    LabelStudio,
}

/// <summary>One destination of result records; rows are handed over in output order, each with the job that labeled it.</summary>
public interface IResultSink : IAsyncDisposable
{
    ValueTask WriteAsync(LabelingRecord record, string jobId, CancellationToken cancellationToken);

    /// <summary>Ends the file (closing array, footer); the sink writes nothing after it.</summary>
    ValueTask CompleteAsync(CancellationToken cancellationToken);
}

public static class ResultFormats
{
    /// <summary>Parses a <c>--format</c> value; null: from the -o file's extension (.csv, .parquet, else JSONL).</summary>
    public static ResultFormat Resolve(string? format, FileInfo? target)
    {
        if (format is not null)
        {
            return format.ToLowerInvariant() switch
            {
                "jsonl" => ResultFormat.Jsonl,
                "csv" => ResultFormat.Csv,
                "parquet" => ResultFormat.Parquet,
                "labelstudio" or "label-studio" => ResultFormat.LabelStudio,
                _ => throw new CliUsageException($"--format: unknown result format '{format}': use jsonl, csv, parquet or labelstudio"),
            };
        }

        return target?.Extension.ToLowerInvariant() switch
        {
            ".csv" => ResultFormat.Csv,
            ".parquet" => ResultFormat.Parquet,
            _ => ResultFormat.Jsonl,
        };
    }
}

/// <summary>JSONL or CSV lines, exactly as <c>mobilenet classify</c> writes them (CSV with its header).</summary>
public sealed class TextResultSink(TextWriter writer, LabelingOutputFormat format, int topK) : IResultSink
{
    private bool started;

    public async ValueTask WriteAsync(LabelingRecord record, string jobId, CancellationToken cancellationToken)
    {
        await StartAsync().ConfigureAwait(false);
        await writer.WriteAsync(LabelingRecordFormat.FormatLine(record, format, topK) + LabelingRecordFormat.LineTerminator).ConfigureAwait(false);
    }

    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        await StartAsync().ConfigureAwait(false);
        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async ValueTask StartAsync()
    {
        if (!started)
        {
            started = true;
            if (format == LabelingOutputFormat.Csv)
            {
                await writer.WriteAsync(LabelingRecordFormat.CsvHeader(topK) + LabelingRecordFormat.LineTerminator).ConfigureAwait(false);
            }
        }
    }
}
