using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using MobileNet.Orleans.Client.Storage;
using MobileNet.Orleans.Client.Terminal;
using MobileNet.Orleans.Contracts.Jobs;
using Spectre.Console;

namespace MobileNet.Orleans.Client.Jobs;

/// <summary>How <c>mobilenet status</c>, <c>watch</c> and <c>jobs</c> show a <see cref="JobStatus"/>.</summary>
public static class JobStatusFormatter
{
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Images finished (labeled or error rows).</summary>
    public static long Processed(JobStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return status.Labeled + status.Errors;
    }

    /// <summary>
    /// One JSON object, camelCase: jobId, state, totalImages, labeled, errors, shardsTotal, shardsDone, shardsRunning,
    /// shardsPending, shardsFailed, imagesPerSecond, etaSeconds, silos [{silo, labeled, errors}], submittedAt, startedAt,
    /// endedAt, failureReason; then details (listingComplete, shardsRedispatched, failedShards, model, source, output, topK, shardSize).
    /// </summary>
    public static string ToJson(JobStatus status, decimal? nodePrice = null)
    {
        ArgumentNullException.ThrowIfNull(status);
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, JsonOptions))
        {
            w.WriteStartObject();
            w.WriteString("jobId", status.JobId);
            w.WriteString("state", status.State.ToString());
            w.WriteNumber("totalImages", status.TotalImages);
            w.WriteNumber("labeled", status.Labeled);
            w.WriteNumber("errors", status.Errors);
            w.WriteNumber("shardsTotal", status.ShardsTotal);
            w.WriteNumber("shardsDone", status.ShardsDone);
            w.WriteNumber("shardsRunning", status.ShardsRunning);
            w.WriteNumber("shardsPending", status.ShardsPending);
            w.WriteNumber("shardsFailed", status.ShardsFailed);
            w.WriteNumber("imagesPerSecond", Math.Round(double.IsFinite(status.ImagesPerSecond) ? status.ImagesPerSecond : 0, 2));
            if (status.Eta is { } eta)
            {
                w.WriteNumber("etaSeconds", Math.Round(eta.TotalSeconds, 1));
            }
            else
            {
                w.WriteNull("etaSeconds");
            }

            w.WriteStartArray("silos");
            foreach (var silo in status.Silos)
            {
                w.WriteStartObject();
                w.WriteString("silo", silo.Silo);
                w.WriteNumber("labeled", silo.Labeled);
                w.WriteNumber("errors", silo.Errors);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteString("submittedAt", status.SubmittedAt);
            WriteTime(w, "startedAt", status.StartedAt);
            WriteTime(w, "endedAt", status.EndedAt);
            if (status.FailureReason is null)
            {
                w.WriteNull("failureReason");
            }
            else
            {
                w.WriteString("failureReason", SecretRedaction.Redact(status.FailureReason));
            }

            w.WriteBoolean("listingComplete", status.ListingComplete);
            w.WriteNumber("shardsRedispatched", status.ShardsRedispatched);
            w.WriteString("model", status.Spec.ModelName);
            if (status.Model is { } pinned)
            {
                w.WriteString("modelSha256", pinned.Sha256);
            }

            w.WriteString("source", status.Spec.Source.ToString());
            w.WriteString("output", status.Spec.Output.ToString());
            w.WriteNumber("topK", status.Spec.TopK);
            w.WriteNumber("shardSize", status.Spec.ShardSize);
            JobCostFormatter.WriteJson(w, status, nodePrice);
            DataProductStatus.WriteJson(w, status);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>
    /// The human-readable <c>status</c>: one label and value per row (job, state, model, source, output, images,
    /// shards, rate, silos, times, failure), then each failed shard with its last reason.
    /// </summary>
    public static Table ToTable(JobStatus status, CliConsole console)
    {
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(console);
        var c = CultureInfo.InvariantCulture;
        var table = console.CreateDetails();
        void Row(string label, string value) => table.AddRow(new Text(label), new Text(value));
        Row("job", status.JobId);
        table.AddRow(new Text("state"), console.Cell(status.State.ToString(), StateColor(status.State)));
        Row("model", $"{status.Spec.ModelName} (top-{status.Spec.TopK}){(status.Model is { } pinned ? $", sha256 {pinned.Sha256}" : "")}");
        Row("source", $"{status.Spec.Source}{(status.Spec.ManifestBlob is { } m ? $" (manifest {m})" : "")}");
        Row("output", status.Spec.Output.ToString());
        Row("images", string.Create(c, $"{Processed(status)} of {status.TotalImages}{(status.ListingComplete ? "" : "+ (still listing)")} done: {status.Labeled} labeled, {status.Errors} errors"));
        Row("shards", string.Create(c, $"{status.ShardsDone} done, {status.ShardsRunning} running, {status.ShardsPending} pending, {status.ShardsFailed} failed of {status.ShardsTotal} ({status.Spec.ShardSize} images each); {status.ShardsRedispatched} redispatched"));
        Row("rate", string.Create(c, $"{status.ImagesPerSecond:0.0} images/s, ETA {FormatEta(status)}"));
        Row("silos", FormatSilos(status, long.MaxValue));
        Row("submitted", FormatTime(status.SubmittedAt));
        Row("started", FormatTime(status.StartedAt));
        Row("ended", FormatTime(status.EndedAt) + (status.StartedAt is { } s && status.EndedAt is { } e ? string.Create(c, $" (took {(e - s).TotalSeconds:0.0} s)") : ""));
        foreach (var (label, value) in DataProductStatus.Rows(status))
        {
            Row(label, value);
        }
        if (status.FailureReason is { } reason)
        {
            table.AddRow(new Text("failure"), console.Cell(SecretRedaction.Redact(reason), Color.Red));
        }

        foreach (var failed in status.FailedShards)
        {
            Row(string.Create(c, $"shard {failed.ShardId}"), string.Create(c, $"failed after {failed.Attempts} attempt(s), {failed.Images} images: {SecretRedaction.Redact(failed.Reason)}"));
        }

        return table;
    }

    /// <summary>
    /// <c>jobs</c>: one row per job, newest first: id, state, progress, errors, rate, submitted, model; a job whose
    /// status could not be read shows why instead of its progress.
    /// </summary>
    public static Table ToJobsTable(IEnumerable<(string JobId, JobStatus? Status, string? Error)> jobs, CliConsole console)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(console);
        var c = CultureInfo.InvariantCulture;
        var table = console.CreateTable("JOB", "STATE", "PROGRESS", "ERRORS", "IMG/S", "SUBMITTED (UTC)", "MODEL");
        table.Columns[3].RightAligned();
        table.Columns[4].RightAligned();
        foreach (var (jobId, status, error) in jobs)
        {
            if (status is null)
            {
                table.AddRow(new Text(jobId), new Text("?"), console.Cell(error ?? "status unavailable", Color.Red), Text.Empty, Text.Empty, Text.Empty, Text.Empty);
                continue;
            }

            var processed = Processed(status);
            var percent = status.TotalImages > 0 ? 100.0 * processed / status.TotalImages : 0;
            table.AddRow(
                new Text(status.JobId),
                console.Cell(status.State.ToString(), StateColor(status.State)),
                new Text(string.Create(c, $"{processed}/{status.TotalImages}{(status.ListingComplete ? "" : "+")} ({percent:0}%)")),
                console.Cell(status.Errors.ToString(c), status.Errors > 0 ? Color.Red : Color.Default),
                new Text(status.ImagesPerSecond.ToString("0.0", c)),
                new Text(status.SubmittedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", c)),
                new Text(status.Spec.ModelName));
        }

        return table;
    }

    private static Color StateColor(JobState state) => state switch
    {
        JobState.Completed => Color.Green,
        JobState.Failed => Color.Red,
        JobState.Cancelled => Color.Grey,
        _ => Color.Blue,
    };

    /// <summary>One progress line for <c>watch</c>: bar, counts, rate, ETA, per-silo share.</summary>
    public static string ProgressLine(JobStatus status, int barWidth = 24)
    {
        ArgumentNullException.ThrowIfNull(status);
        var c = CultureInfo.InvariantCulture;
        var processed = Processed(status);
        var fraction = status.TotalImages > 0 ? Math.Clamp((double)processed / status.TotalImages, 0, 1) : 0;
        var filled = (int)Math.Round(fraction * barWidth);
        var bar = new string('#', filled) + new string('.', barWidth - filled);
        var total = status.ListingComplete ? status.TotalImages.ToString(c) : status.TotalImages.ToString(c) + "+";
        return string.Create(c, $"[{bar}] {fraction * 100,5:0.0}% {processed}/{total} images ({status.Errors} errors) {status.ImagesPerSecond:0.0} img/s ETA {FormatEta(status)} | {FormatSilos(status, 4)} | {status.State}");
    }

    /// <summary>"siloA 52% (1040), siloB 48% (960)": each silo's share of the images processed so far.</summary>
    public static string FormatSilos(JobStatus status, long max)
    {
        ArgumentNullException.ThrowIfNull(status);
        if (status.Silos.Count == 0)
        {
            return "no silo has finished a shard yet";
        }

        var sum = status.Silos.Sum(s => s.Labeled + s.Errors);
        var shown = status.Silos.OrderByDescending(s => s.Labeled + s.Errors).Take((int)Math.Min(max, int.MaxValue)).Select(s =>
            string.Create(CultureInfo.InvariantCulture, $"{s.Silo} {(sum > 0 ? 100.0 * (s.Labeled + s.Errors) / sum : 0):0}% ({s.Labeled + s.Errors})"));
        var text = string.Join(", ", shown);
        return status.Silos.Count > max ? text + string.Create(CultureInfo.InvariantCulture, $", +{status.Silos.Count - max} more") : text;
    }

    public static string FormatEta(JobStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        if (status.IsTerminal)
        {
            return "-";
        }

        return status.Eta is not { } eta ? "?"
            : eta.TotalHours >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{(int)eta.TotalHours}h{eta.Minutes:00}m")
            : eta.TotalMinutes >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{(int)eta.TotalMinutes}m{eta.Seconds:00}s")
            : string.Create(CultureInfo.InvariantCulture, $"{Math.Ceiling(eta.TotalSeconds):0}s");
    }

    private static string FormatTime(DateTimeOffset? time) =>
        time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) : "-";

    private static void WriteTime(Utf8JsonWriter writer, string name, DateTimeOffset? time)
    {
        if (time is { } t)
        {
            writer.WriteString(name, t);
        }
        else
        {
            writer.WriteNull(name);
        }
    }
}
