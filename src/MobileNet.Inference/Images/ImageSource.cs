namespace MobileNet.Inference;

/// <summary>
/// One image to label: a name for the result row and a way to open its bytes. <see cref="OpenAsync"/> (and reads from
/// the stream it returns) throw <see cref="ImageLoadException"/> for per-image problems; anything else fails the run.
/// </summary>
public sealed record ImageSource(string Name, Func<CancellationToken, ValueTask<Stream>> OpenAsync)
{
    /// <summary>A local file: missing or unreadable files become error rows, named <paramref name="name"/> (default: the path).</summary>
    public static ImageSource FromFile(string path, string? name = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new ImageSource(name ?? path, _ => ValueTask.FromResult(OpenFile(path)));
    }

    /// <summary>An in-memory image (tests, benchmarks).</summary>
    public static ImageSource FromBytes(string name, ReadOnlyMemory<byte> bytes) =>
        new(name, _ => ValueTask.FromResult<Stream>(new ReadOnlyMemoryStream(bytes)));

    private static Stream OpenFile(string path)
    {
        try
        {
            return new FileErrorMappingStream(new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                Share = FileShare.Read,
                Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
                BufferSize = 0, // the pipeline reads in large chunks itself
            }));
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ImageLoadException(new ImageError(ImageErrorCodes.NotFound, "no such file"), ex);
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            throw new ImageLoadException(new ImageError(ImageErrorCodes.ReadFailed, ex.Message), ex);
        }
    }

    /// <summary>For local files an I/O error concerns that one file, so it becomes an error row rather than a failed run.</summary>
    private sealed class FileErrorMappingStream(FileStream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => false;
        public override long Length => inner.Length;

        public override long Position
        {
            get => inner.Position;
            set => inner.Position = value;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            try
            {
                return inner.Read(buffer);
            }
            catch (IOException ex)
            {
                throw new ImageLoadException(new ImageError(ImageErrorCodes.ReadFailed, ex.Message), ex);
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await inner.ReadAsync(buffer, cancellationToken);
            }
            catch (IOException ex)
            {
                throw new ImageLoadException(new ImageError(ImageErrorCodes.ReadFailed, ex.Message), ex);
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        public override ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    private sealed class ReadOnlyMemoryStream(ReadOnlyMemory<byte> bytes) : Stream
    {
        private int position;

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => bytes.Length;

        public override long Position
        {
            get => position;
            set => position = (int)Math.Clamp(value, 0, bytes.Length);
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(buffer.Length, bytes.Length - position);
            bytes.Span.Slice(position, n).CopyTo(buffer);
            position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override long Seek(long offset, SeekOrigin origin)
        {
            Position = origin switch
            {
                SeekOrigin.Begin => offset,
                SeekOrigin.Current => position + offset,
                _ => bytes.Length + offset,
            };
            return position;
        }

        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
