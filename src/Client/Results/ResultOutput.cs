using System.CommandLine;
using System.Globalization;
using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Sas;
using MobileNet.Inference;
using MobileNet.Inference.Files;
using MobileNet.Orleans.Client.Results.Formats;
using MobileNet.Orleans.Client.Storage;
using MobileNet.Orleans.Contracts.Labels;

namespace MobileNet.Orleans.Client.Results;

/// <summary>How many rows were read and written.</summary>
public sealed class RecordCounts
{
    public long Labeled { get; set; }

    public long Errors { get; set; }

    /// <summary>Rows written (fewer than read with <c>--review</c>).</summary>
    public long Written { get; set; }
}

/// <summary>Where and how <c>mobilenet results</c> writes: format, file, the review queue, image links for Label Studio.</summary>
public sealed record ResultOutputSettings
{
    public required ResultFormat Format { get; init; }

    public FileInfo? Target { get; init; }

    public required int TopK { get; init; }

    /// <summary>Only images that meet <see cref="Review"/>, by ascending top-1 score (the review queue).</summary>
    public bool ReviewOnly { get; init; }

    public ReviewRule Review { get; init; } = new(null, null);

    /// <summary>Image URL of a source blob name, for Label Studio tasks.</summary>
    public Func<string, string> ImageUrl { get; init; } = name => name;

    public string ModelVersion { get; init; } = "";

    public LabelStudioNames LabelStudio { get; init; } = new();
}

/// <summary>The output options shared by <c>results &lt;job&gt;</c> and <c>results --latest</c>.</summary>
public sealed class ResultOutputOptions
{
    private readonly Option<string?> format = new("--format") { Description = "jsonl, csv, parquet or labelstudio (default: from the -o file extension, else jsonl)" };
    private readonly Option<FileInfo?> file = new("--output", "-o") { Description = "file to write (default: stdout; parquet needs a file); written to a temporary file and renamed when complete" };
    private readonly Option<bool> review = new("--review") { Description = "only the review queue: images that met the job's --review-below/--review-margin rule, by ascending top-1 score" };
    private readonly Option<string> imageLinks = new("--image-links") { Description = "image URLs in Label Studio tasks: blob (the blob's URL; the tool needs its own access) or sas (read-only SAS links signed with your own storage key)", DefaultValueFactory = _ => "blob" };
    private readonly Option<int> sasHours = new("--sas-hours") { Description = "with --image-links sas: hours the links stay valid (1..168)", DefaultValueFactory = _ => 24 };
    private readonly Option<string> fromName = new("--ls-from-name") { Description = "Label Studio: name of the Choices control the predictions fill", DefaultValueFactory = _ => "choice" };
    private readonly Option<string> toName = new("--ls-to-name") { Description = "Label Studio: name of the Image object (also the data key)", DefaultValueFactory = _ => "image" };

    public ResultOutputOptions(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        foreach (var option in new Option[] { format, file, review, imageLinks, sasHours, fromName, toName })
        {
            command.Options.Add(option);
        }
    }

    public FileInfo? Target(ParseResult parse) => parse.GetValue(file);

    public bool ReviewOnly(ParseResult parse) => parse.GetValue(review);

    /// <summary>
    /// The settings for one run. <paramref name="blobBase"/> is any URL in the account (a result link): image URLs are
    /// built on its endpoint. SAS links are signed with the caller's own storage key, never by the cluster: a reader
    /// of results does not thereby get read access to the source images.
    /// </summary>
    public ResultOutputSettings Resolve(ParseResult parse, StorageConnection storage, string sourceContainer, Uri? blobBase, int topK, ReviewRule rule, string modelVersion)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var target = parse.GetValue(file);
        var resolved = ResultFormats.Resolve(parse.GetValue(format), target);
        if (resolved == ResultFormat.Parquet && target is null)
        {
            throw new CliUsageException("--format parquet needs -o <file>.parquet (row groups are appended to a seekable file)");
        }

        var reviewOnly = parse.GetValue(review);
        if (reviewOnly && !rule.IsActive)
        {
            throw new CliUsageException("--review: the job has no review rule; submit with --review-below and/or --review-margin");
        }

        var hours = parse.GetValue(sasHours);
        if (hours is < 1 or > 168)
        {
            throw new CliUsageException($"--sas-hours {hours} must be between 1 and 168");
        }

        var links = parse.GetValue(imageLinks)?.ToLowerInvariant();
        Func<string, string> url = links switch
        {
            "blob" => name => BlobUrl(blobBase, sourceContainer, name),
            "sas" => SasSigner(storage, sourceContainer, TimeSpan.FromHours(hours)),
            _ => throw new CliUsageException($"--image-links '{links}': use blob or sas"),
        };
        var from = parse.GetValue(fromName) ?? "choice";
        var to = parse.GetValue(toName) ?? "image";
        if (from.Length == 0 || to.Length == 0)
        {
            throw new CliUsageException("--ls-from-name and --ls-to-name must not be empty");
        }

        return new ResultOutputSettings
        {
            Format = resolved,
            Target = target,
            TopK = topK,
            ReviewOnly = reviewOnly,
            Review = rule,
            ImageUrl = url,
            ModelVersion = modelVersion,
            LabelStudio = new LabelStudioNames(from, to, to),
        };
    }

    private static string BlobUrl(Uri? blobBase, string container, string name)
    {
        if (blobBase is null)
        {
            return $"{container}/{name}";
        }

        var builder = new BlobUriBuilder(blobBase) { BlobContainerName = container, BlobName = name, Sas = null, Query = null };
        return builder.ToUri().AbsoluteUri;
    }

    private static Func<string, string> SasSigner(StorageConnection storage, string container, TimeSpan lifetime)
    {
        var client = storage.CreateBlobServiceClient().GetBlobContainerClient(container);
        if (!client.GetBlobClient("probe").CanGenerateSasUri)
        {
            throw new CliUsageException("--image-links sas signs links with your own account key: give a connection string with an AccountKey (--storage or MOBILENET_STORAGE)");
        }

        var expires = DateTimeOffset.UtcNow + lifetime;
        return name => client.GetBlobClient(name).GenerateSasUri(BlobSasPermissions.Read, expires).AbsoluteUri;
    }
}

/// <summary>Writes result rows to a file (atomically: temporary file, then rename) or stdout, in the chosen format.</summary>
public static class ResultOutput
{
    public static async Task<RecordCounts> WriteAsync(IAsyncEnumerable<(LabelingRecord Record, string JobId)> records, ResultOutputSettings settings, TextWriter stdout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(stdout);
        var counts = new RecordCounts();
        if (settings.Target is null)
        {
            await using var stream = new TextWriterStream(stdout);
            await WriteToAsync(stream, stdout, records, settings, counts, cancellationToken).ConfigureAwait(false);
            await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
            return counts;
        }

        // The old file stays until the new one is whole (AtomicFile), so an interrupted export never leaves half a file.
        await AtomicFile.WriteAsync(settings.Target.FullName, async (stream, token) =>
        {
            await using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
            await WriteToAsync(stream, writer, records, settings, counts, token).ConfigureAwait(false);
            await writer.FlushAsync(token).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);

        return counts;
    }

    private static async Task WriteToAsync(Stream stream, TextWriter writer, IAsyncEnumerable<(LabelingRecord Record, string JobId)> records, ResultOutputSettings settings, RecordCounts counts, CancellationToken cancellationToken)
    {
        await using IResultSink sink = settings.Format switch
        {
            ResultFormat.Parquet => new ParquetResultSink(stream),
            ResultFormat.LabelStudio => new LabelStudioResultSink(stream, settings.ImageUrl, settings.ModelVersion, settings.LabelStudio),
            ResultFormat.Csv => new TextResultSink(writer, LabelingOutputFormat.Csv, settings.TopK),
            _ => new TextResultSink(writer, LabelingOutputFormat.Jsonl, settings.TopK),
        };
        // The review queue is a subset, ordered by ascending confidence: gathered, then sorted.
        var queue = settings.ReviewOnly ? new List<(LabelingRecord Record, string JobId)>() : null;
        await foreach (var (record, jobId) in records.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (record.Succeeded)
            {
                counts.Labeled++;
            }
            else
            {
                counts.Errors++;
            }

            if (queue is not null)
            {
                if (settings.Review.Needs(record.Labels.Select(l => l.Score).ToArray()))
                {
                    queue.Add((record, jobId));
                }

                continue;
            }

            await sink.WriteAsync(record, jobId, cancellationToken).ConfigureAwait(false);
            counts.Written++;
        }

        if (queue is not null)
        {
            foreach (var (record, jobId) in queue.OrderBy(r => r.Record.Labels[0].Score).ThenBy(r => r.Record.Image, StringComparer.Ordinal))
            {
                await sink.WriteAsync(record, jobId, cancellationToken).ConfigureAwait(false);
                counts.Written++;
            }
        }

        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        await sink.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>A write-only stream onto a <see cref="TextWriter"/> (UTF-8 decoded as it comes), so byte-oriented writers can print to stdout.</summary>
internal sealed class TextWriterStream(TextWriter writer) : Stream
{
    private readonly Decoder decoder = new UTF8Encoding(false).GetDecoder();

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() => writer.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => writer.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        var chars = new char[decoder.GetCharCount(buffer, flush: false)];
        var n = decoder.GetChars(buffer, chars, flush: false);
        writer.Write(chars, 0, n);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var chars = new char[decoder.GetCharCount(buffer.Span, flush: false)];
        var n = decoder.GetChars(buffer.Span, chars, flush: false);
        await writer.WriteAsync(chars.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
}
