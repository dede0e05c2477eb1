using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using MobileNet.Orleans.Client.Storage;
using MobileNet.Orleans.Contracts.Jobs;

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
    public static string ToJson(JobStatus status)
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
            DataProductStatus.WriteJson(w, status);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The human-readable <c>status</c> block.</summary>
    public static string ToText(JobStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var c = CultureInfo.InvariantCulture;
        var b = new StringBuilder();
        b.Append(c, $"job        {status.JobId}\n");
        b.Append(c, $"state      {status.State}\n");
        b.Append(c, $"model      {status.Spec.ModelName} (top-{status.Spec.TopK}){(status.Model is { } pinned ? $", sha256 {pinned.Sha256}" : "")}\n");
        b.Append(c, $"source     {status.Spec.Source}{(status.Spec.ManifestBlob is { } m ? $" (manifest {m})" : "")}\n");
        b.Append(c, $"output     {status.Spec.Output}\n");
        b.Append(c, $"images     {Processed(status)} of {status.TotalImages}{(status.ListingComplete ? "" : "+ (still listing)")} done: {status.Labeled} labeled, {status.Errors} errors\n");
        b.Append(c, $"shards     {status.ShardsDone} done, {status.ShardsRunning} running, {status.ShardsPending} pending, {status.ShardsFailed} failed of {status.ShardsTotal} ({status.Spec.ShardSize} images each); {status.ShardsRedispatched} redispatched\n");
        b.Append(c, $"rate       {status.ImagesPerSecond:0.0} images/s, ETA {FormatEta(status)}\n");
        b.Append(c, $"silos      {FormatSilos(status, long.MaxValue)}\n");
        b.Append(c, $"submitted  {FormatTime(status.SubmittedAt)}\n");
        b.Append(c, $"started    {FormatTime(status.StartedAt)}\n");
        b.Append(c, $"ended      {FormatTime(status.EndedAt)}{(status.StartedAt is { } s && status.EndedAt is { } e ? $" (took {(e - s).TotalSeconds:0.0} s)" : "")}\n");
        DataProductStatus.AppendText(b, status);
        if (status.FailureReason is { } reason)
        {
            b.Append(c, $"failure    {SecretRedaction.Redact(reason)}\n");
        }

        foreach (var failed in status.FailedShards)
        {
            b.Append(c, $"  shard {failed.ShardId} failed after {failed.Attempts} attempt(s), {failed.Images} images: {SecretRedaction.Redact(failed.Reason)}\n");
        }

        return b.ToString();
    }

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
