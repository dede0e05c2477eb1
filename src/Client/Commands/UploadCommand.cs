using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using MobileNet.Orleans.Client.Cluster;
using MobileNet.Orleans.Client.Storage;
using MobileNet.Orleans.Client.Terminal;
using MobileNet.Orleans.Contracts.Storage;

namespace MobileNet.Orleans.Client.Commands;

/// <summary><c>mobilenet upload &lt;dir&gt; --to container/prefix</c>: parallel, resumable image upload.</summary>
public static class UploadCommand
{
    /// <summary>Extensions uploaded by default: what the labeler decodes. Anything else needs <c>--all</c>.</summary>
    public static readonly IReadOnlySet<string> ImageExtensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".tga", ".pbm",
    };

    public static Command Create()
    {
        var directory = new Argument<DirectoryInfo>("dir") { Description = "folder of images to upload (recursively)" };
        var to = new Option<string>("--to")
        {
            Description = "destination container/prefix; the container is created if missing",
            Required = true,
        };
        var parallel = new Option<int>("--parallel")
        {
            Description = "uploads in flight at once",
            DefaultValueFactory = _ => 8,
        };
        var all = new Option<bool>("--all") { Description = "upload every file, not only image files (.jpg, .png, ...)" };
        var command = new Command("upload", "Upload a folder of images to blob storage; resumable: blobs already there with the same content (Content-MD5) are skipped.")
        {
            directory, to, parallel, all,
        };
        var storage = new StorageOption(command);
        command.SetAction(async (ParseResult parse, CancellationToken ct) =>
        {
            var dir = parse.GetValue(directory)!;
            if (!dir.Exists)
            {
                throw new CliUsageException($"folder '{dir.FullName}' does not exist");
            }

            var destination = BlobPaths.ParseOption("--to", parse.GetValue(to));
            var degree = parse.GetValue(parallel);
            if (degree is < 1 or > 64)
            {
                throw new CliUsageException($"--parallel {degree} must be between 1 and 64");
            }

            var service = storage.Resolve(parse).CreateBlobServiceClient();
            var summary = await UploadAsync(service, dir, destination, new UploadOptions { Parallelism = degree, AllFiles = parse.GetValue(all) }, parse.InvocationConfiguration.Error, ct);
            await parse.InvocationConfiguration.Output.WriteLineAsync(summary.ToString());
            if (summary.Failed > 0)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"error: {summary.Failed} file(s) failed to upload (first: {summary.FirstError}); run the same command again to resume");
                return ExitCodes.RuntimeFailure;
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Where stderr is not a terminal: a "done/total files" line at most this often.</summary>
    public static readonly TimeSpan ProgressLineInterval = TimeSpan.FromSeconds(1);

    public sealed record UploadOptions
    {
        public int Parallelism { get; init; } = 8;

        public bool AllFiles { get; init; }
    }

    public sealed record UploadSummary(int Uploaded, long UploadedBytes, int Skipped, int Failed, int Ignored, string Destination, TimeSpan Elapsed, string? FirstError)
    {
        public override string ToString() => string.Create(
            CultureInfo.InvariantCulture,
            $"uploaded {Uploaded} file(s) ({UploadedBytes / 1048576.0:0.0} MiB), skipped {Skipped} already present, {Failed} failed, {Ignored} non-image file(s) ignored -> {Destination} in {Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>Uploads every (image) file under <paramref name="directory"/> below <paramref name="destination"/>.</summary>
    public static async Task<UploadSummary> UploadAsync(BlobServiceClient service, DirectoryInfo directory, BlobPath destination, UploadOptions options, TextWriter progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        var watch = Stopwatch.StartNew();
        var files = new List<(FileInfo File, string BlobName)>();
        var ignored = 0;
        foreach (var file in directory.EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.Hidden | FileAttributes.System | FileAttributes.ReparsePoint }))
        {
            if (!options.AllFiles && !ImageExtensions.Contains(file.Extension))
            {
                ignored++;
                continue;
            }

            var relative = Path.GetRelativePath(directory.FullName, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
            files.Add((file, BlobPaths.Combine(destination, relative)));
        }

        if (files.Count == 0)
        {
            throw new CliUsageException($"no {(options.AllFiles ? "" : "image ")}files under '{directory.FullName}'{(options.AllFiles ? "" : " (.jpg, .png, ...; --all uploads every file)")}");
        }

        var container = service.GetBlobContainerClient(destination.Container);
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);

        // One listing instead of a HEAD per file: a blob already there with the file's content (its stored Content-MD5
        // equals the file's MD5) is skipped (resume); same length alone is not enough, an edited photo often keeps it.
        var existing = new Dictionary<string, (long Length, byte[]? Md5)>(StringComparer.Ordinal);
        await foreach (var blob in container.GetBlobsAsync(new GetBlobsOptions { Prefix = BlobPaths.FolderPrefix(destination) }, cancellationToken).ConfigureAwait(false))
        {
            existing[blob.Name] = (blob.Properties.ContentLength ?? -1, blob.Properties.ContentHash is { Length: > 0 } hash ? hash : null);
        }

        var uploaded = 0;
        var skipped = 0;
        long bytes = 0;
        var errors = new ConcurrentQueue<string>();
        // Only the summary goes to stdout, after the bar: a live bar may draw whenever stderr is a terminal.
        var bar = WorkProgress.For(progress, mayDrawLive: true, $"uploading to {destination}", "files", files.Count, ProgressLineInterval, p => string.Create(CultureInfo.InvariantCulture, $"  {p.Done}/{p.Total} files"));
        await bar.RunAsync(async () =>
        {
            await UploadFilesAsync();
            return true;
        }).ConfigureAwait(false);

        return new UploadSummary(uploaded, bytes, skipped, errors.Count, ignored, destination.ToString(), watch.Elapsed, errors.TryPeek(out var first) ? first : null);

        Task UploadFilesAsync() => Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = options.Parallelism, CancellationToken = cancellationToken }, async (item, ct) =>
        {
            try
            {
                var md5 = await Md5Async(item.File, ct).ConfigureAwait(false);
                if (existing.TryGetValue(item.BlobName, out var stored) && stored.Length == item.File.Length && stored.Md5 is { } storedMd5 && storedMd5.AsSpan().SequenceEqual(md5))
                {
                    Interlocked.Increment(ref skipped);
                }
                else
                {
                    await using var stream = item.File.OpenRead();
                    await container.GetBlobClient(item.BlobName).UploadAsync(
                        stream,
                        // Stored with the blob whatever the upload's size (a block upload would not record it otherwise): the next run compares it.
                        new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = ContentType(item.File.Extension), ContentHash = md5 } },
                        ct).ConfigureAwait(false);
                    Interlocked.Increment(ref uploaded);
                    Interlocked.Add(ref bytes, item.File.Length);
                }
            }
            catch (Exception ex) when (ex is RequestFailedException or IOException or UnauthorizedAccessException)
            {
                errors.Enqueue($"{item.File.Name}: {ClusterConnection.OneLine(ex)}");
                bar.Advance(itemFailed: true);
                return;
            }

            bar.Advance();
        });
    }

    /// <summary>The file's MD5: what Azure Storage keeps as a blob's Content-MD5 (an integrity checksum here, not a security measure).</summary>
    private static async Task<byte[]> Md5Async(FileInfo file, CancellationToken cancellationToken)
    {
        await using var stream = file.OpenRead();
#pragma warning disable CA5351 // Content-MD5 is the checksum blob storage records; it detects changed files, it protects nothing.
        return await MD5.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
#pragma warning restore CA5351
    }

    private static string ContentType(string extension) => extension.ToLowerInvariant() switch
    {
        ".jpg" or ".jpeg" or ".jpe" or ".jfif" => "image/jpeg",
        ".png" => "image/png",
        ".gif" => "image/gif",
        ".bmp" => "image/bmp",
        ".webp" => "image/webp",
        ".tif" or ".tiff" => "image/tiff",
        _ => "application/octet-stream",
    };
}
