using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace MobileNet.Orleans.Client.Results;

/// <summary>
/// Turns a producer that pushes into a pull for one reader: the producer runs on its own task and writes into a
/// bounded channel, so it runs at most <c>capacity</c> items ahead. Its failure reaches the reader at that point in
/// the sequence; when the reader stops early the producer is cancelled and awaited, and items it left in the channel
/// are handed to <c>abandon</c> (to observe a download that is still running, for example).
/// </summary>
internal static class BoundedProducer
{
    public static async IAsyncEnumerable<T> ReadAsync<T>(
        int capacity,
        Func<ChannelWriter<T>, CancellationToken, Task> produce,
        Func<T, Task>? abandon,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(produce);
        var channel = Channel.CreateBounded<T>(new BoundedChannelOptions(Math.Max(1, capacity)) { SingleReader = true, SingleWriter = true });
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(
            async () =>
            {
                try
                {
                    await produce(channel.Writer, cts.Token).ConfigureAwait(false);
                    channel.Writer.Complete();
                }
#pragma warning disable CA1031 // Handed to the reader, which rethrows it.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    channel.Writer.Complete(ex);
                }
            },
            cts.Token);
        try
        {
            await foreach (var item in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return item;
            }
        }
        finally
        {
            await cts.CancelAsync().ConfigureAwait(false);
            try
            {
                await producer.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            while (abandon is not null && channel.Reader.TryRead(out var left))
            {
                await abandon(left).ConfigureAwait(false);
            }
        }
    }
}
