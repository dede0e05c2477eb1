using System.Text.Encodings.Web;
using System.Text.Json;
using MobileNet.Inference;

namespace MobileNet.Orleans.Client.Results.Formats;

/// <summary>Names in the Label Studio labeling config the tasks are for: <c>&lt;Image name="image" value="$image"/&gt;&lt;Choices name="choice" toName="image"&gt;</c>.</summary>
public sealed record LabelStudioNames(string FromName = "choice", string ToName = "image", string DataKey = "image");

/// <summary>
/// Label Studio tasks with pre-annotations, as its import documentation describes (Basic Label Studio JSON format with
/// <c>predictions</c>): a JSON array of <c>{"data":{"image":URL}, "predictions":[{"model_version", "score",
/// "result":[{"id","from_name","to_name","type":"choices","value":{"choices":[top-1 label]}}]}]}</c>, plus
/// <c>meta</c> with the job, the top-k and any error. An image that could not be labeled gets a task with no
/// prediction, so reviewers see it too. Streamed: one task at a time.
/// </summary>
public sealed class LabelStudioResultSink : IResultSink
{
    private readonly Utf8JsonWriter writer;
    private readonly Func<string, string> imageUrl;
    private readonly string modelVersion;
    private readonly LabelStudioNames names;

    public LabelStudioResultSink(Stream stream, Func<string, string> imageUrl, string modelVersion, LabelStudioNames? names = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false });
        this.imageUrl = imageUrl;
        this.modelVersion = modelVersion;
        this.names = names ?? new LabelStudioNames();
        writer.WriteStartArray();
    }

    public async ValueTask WriteAsync(LabelingRecord record, string jobId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        writer.WriteStartObject();
        writer.WriteStartObject("data");
        writer.WriteString(names.DataKey, imageUrl(record.Image));
        writer.WriteString("name", record.Image);
        writer.WriteEndObject();
        writer.WriteStartArray("predictions");
        if (record.Succeeded && record.Labels.Count > 0)
        {
            var top = record.Labels[0];
            writer.WriteStartObject();
            writer.WriteString("model_version", modelVersion);
            writer.WriteNumber("score", float.IsFinite(top.Score) ? top.Score : 0);
            writer.WriteStartArray("result");
            writer.WriteStartObject();
            writer.WriteString("id", "mnl-top1");
            writer.WriteString("from_name", names.FromName);
            writer.WriteString("to_name", names.ToName);
            writer.WriteString("type", "choices");
            writer.WriteStartObject("value");
            writer.WriteStartArray("choices");
            writer.WriteStringValue(top.Label);
            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteStartObject("meta");
        writer.WriteString("job_id", jobId);
        if (record.Error is { } error)
        {
            writer.WriteString("error", error);
        }

        writer.WriteStartArray("top_k");
        foreach (var label in record.Labels)
        {
            writer.WriteStartObject();
            writer.WriteNumber("index", label.Index);
            writer.WriteString("label", label.Label);
            writer.WriteNumber("score", float.IsFinite(label.Score) ? label.Score : 0);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.WriteEndObject();
        if (writer.BytesPending > 1 << 16)
        {
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        writer.WriteEndArray();
        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => writer.DisposeAsync();
}
