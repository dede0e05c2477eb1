using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Models;
using MobileNet.Orleans.Contracts.Storage;
using MobileNet.Orleans.Grains;
using MobileNet.Orleans.Grains.Diagnostics;
using MobileNet.Orleans.Grains.Jobs;
using MobileNet.Orleans.Grains.Storage;
using Orleans.Configuration;

namespace MobileNet.Orleans.ScaleBench;

/// <summary>
/// Control-plane load test: one real silo (the real <c>JobCoordinatorGrain</c>, its state on blob storage) and
/// simulated workers in the same process that lease, renew and complete shards as fast as the coordinator answers,
/// without labeling anything. Prints one line of figures per job (see scripts/bench-scale.sh).
/// </summary>
internal static class ControlPlaneBench
{
    private const string Usage = "usage: mobilenet-scale-bench --storage CONNECTION --images N[,N...] [--workers 200] [--shard-size 64] [--segment-size 128] [--silo-port 14111] [--gateway-port 14112]";

    /// <summary>Runs the jobs; figures go to <paramref name="output"/>, progress and usage to <paramref name="progress"/>.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter progress)
    {
        var options = Parse(args);
        if (options is null)
        {
            await progress.WriteLineAsync(Usage);
            return 2;
        }

        var blobs = new BlobServiceClient(options.Storage);
        await UploadFakeModelAsync(blobs);
        using var host = BuildHost(options);
        await host.StartAsync();
        try
        {
            await output.WriteLineAsync("images    shards  workers  seconds  leases/s  completions/s  state-bytes/lease  state-KB/s  writes/s  status-p99-ms  status-max-ms  cpu-%  peak-rss-MB  heap-MB");
            foreach (var images in options.Images)
            {
                var result = await RunJobAsync(host, blobs, options, images, progress);
                await output.WriteLineAsync(result);
            }
        }
        finally
        {
            await host.StopAsync();
        }

        return 0;
    }

    private static async Task<string> RunJobAsync(IHost host, BlobServiceClient blobs, BenchOptions options, int images, TextWriter progress)
    {
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        var siloName = host.Services.GetRequiredService<ILocalSiloDetails>().Name;
        var source = "bench-src-" + Guid.NewGuid().ToString("N")[..8];
        var manifestName = $"manifest-{images}.txt";
        await UploadManifestAsync(blobs.GetBlobContainerClient(source), manifestName, images);

        var jobId = JobId.New(DateTimeOffset.UtcNow);
        var job = grains.GetGrain<IJobCoordinatorGrain>(jobId);
        using var meter = new StateBytesListener();
        var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        await job.SubmitAsync(new JobSpec
        {
            Source = new BlobPath { Container = source, Prefix = "" },
            ManifestBlob = manifestName,
            ModelName = FakeModel,
            ShardSize = options.ShardSize,
            Output = new BlobPath { Container = source, Prefix = "out" },
        });

        using var done = new CancellationTokenSource();
        long leases = 0, completions = 0;
        var latencies = new List<double>();
        var peakRss = 0L;
        var status = Task.Run(async () =>
        {
            // Status throughout the run, as `mobilenet watch` would ask it.
            while (!done.IsCancellationRequested)
            {
                var asked = Stopwatch.StartNew();
                var current = await job.GetStatusAsync();
                latencies.Add(asked.Elapsed.TotalMilliseconds);
                if (latencies.Count % 10 == 0)
                {
                    // Progress on stderr, every second or so.
                    await progress.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"  {clock.Elapsed.TotalSeconds,6:F1} s: {current.ShardsTotal} shards cut{(current.ListingComplete ? " (all)" : "")}, {current.ShardsDone} done, {current.ShardsRunning} running, {current.ShardsPending} pending; {Interlocked.Read(ref leases)} leases"));
                }

                peakRss = Math.Max(peakRss, Process.GetCurrentProcess().WorkingSet64);
                if (current.IsTerminal)
                {
                    await done.CancelAsync();
                    break;
                }

                await Task.Delay(100);
            }
        });
        var workers = Enumerable.Range(0, options.Workers).Select(w => Task.Run(async () =>
        {
            var silo = $"{siloName}";
            while (!done.IsCancellationRequested)
            {
                IReadOnlyList<ShardLease> granted;
                try
                {
                    granted = await job.LeaseShardsAsync(silo, 1);
                }
                catch (Exception) when (done.IsCancellationRequested)
                {
                    break;
                }

                if (granted.Count == 0)
                {
                    // Listing has not cut the next shard yet, or the job is ending: poll again soon, as a real
                    // worker does (it waits Worker:PollInterval, 0.25 s).
                    await Task.Delay(100);
                    continue;
                }

                Interlocked.Add(ref leases, granted.Count);
                foreach (var lease in granted)
                {
                    var half = lease.ImageCount / 2;
                    await job.RenewLeaseAsync(lease.Lease, new ShardProgress { Processed = half, Labeled = half });
                    await job.CompleteShardAsync(lease.Lease, new ShardProgress { Processed = lease.ImageCount, Labeled = lease.ImageCount });
                    Interlocked.Increment(ref completions);
                }
            }
        })).ToArray();
        await status;
        await Task.WhenAll(workers);
        var seconds = clock.Elapsed.TotalSeconds;
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalSeconds;
        var final = await job.GetStatusAsync();
        if (final.State != JobState.Completed || final.Labeled != images || final.ShardsDone != final.ShardsTotal)
        {
            throw new InvalidOperationException($"job {jobId} ended {final.State} with {final.Labeled} of {images} images labeled ({final.ShardsDone}/{final.ShardsTotal} shards)");
        }

        GC.Collect();
        var heap = GC.GetTotalMemory(forceFullCollection: true);
        latencies.Sort();
        var p99 = latencies.Count == 0 ? 0 : latencies[(int)Math.Min(latencies.Count - 1, Math.Ceiling(latencies.Count * 0.99) - 1)];
        var max = latencies.Count == 0 ? 0 : latencies[^1];
        await blobs.GetBlobContainerClient(source).DeleteIfExistsAsync();
        return string.Create(CultureInfo.InvariantCulture,
            $"{images,-9} {final.ShardsTotal,7} {options.Workers,8} {seconds,8:F1} {leases / seconds,9:F0} {completions / seconds,14:F0} {meter.Bytes / (double)Math.Max(1, leases),18:F0} {meter.Bytes / 1024.0 / seconds,11:F0} {meter.Writes / seconds,9:F0} {p99,14:F1} {max,14:F1} {cpu / seconds * 100,6:F0} {peakRss / 1048576.0,12:F0} {heap / 1048576.0,8:F0}");
    }

    private const string FakeModel = "scale-bench";

    /// <summary>Submit checks that the model exists; the simulated workers never load it.</summary>
    private static async Task UploadFakeModelAsync(BlobServiceClient blobs)
    {
        var models = blobs.GetBlobContainerClient(ModelStoreLayout.Container);
        await models.CreateIfNotExistsAsync();
        var manifest = new ModelManifest { Name = FakeModel, Sha256 = new string('0', 64), SizeBytes = 1, UploadedAt = DateTimeOffset.UtcNow };
        await models.GetBlobClient(ModelStoreLayout.ManifestBlob(FakeModel)).UploadAsync(BinaryData.FromString(ModelManifestJson.Serialize(manifest)), overwrite: true);
    }

    private static async Task UploadManifestAsync(BlobContainerClient container, string name, int images)
    {
        await container.CreateIfNotExistsAsync();
        var text = new StringBuilder(images * 24);
        for (var i = 0; i < images; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"img/{i:D8}.jpg\n");
        }

        await container.GetBlobClient(name).UploadAsync(BinaryData.FromString(text.ToString()), overwrite: true);
    }

    private static IHost BuildHost(BenchOptions options)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort, serviceId: "scale-bench", clusterId: "scale-bench-" + Guid.NewGuid().ToString("N")[..8]);
            silo.AddAzureBlobGrainStorage("registry", o =>
            {
                o.BlobServiceClient = new BlobServiceClient(options.Storage);
                o.ContainerName = "scale-bench-registry";
            });
            silo.UseInMemoryReminderService();
            silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(60));
        });
        var before = builder.Services.Count;
        builder.Services.AddMobileNetGrains(o => new BlobServiceClient(options.Storage, o));
        // The simulated workers replace the silo's real shard worker.
        for (var i = builder.Services.Count - 1; i >= before; i--)
        {
            if (builder.Services[i].ServiceType == typeof(IHostedService))
            {
                builder.Services.RemoveAt(i);
            }
        }

        builder.Services.Configure<CoordinatorOptions>(o =>
        {
            o.SegmentSize = options.SegmentSize;
            o.StateContainer = "scale-bench-state";
        });
        // Each job reads its manifest from, and writes results under, a container of its own (see RunJobAsync).
        builder.Services.Configure<StorageScopeOptions>(o =>
        {
            o.Read = ["bench-src-*"];
            o.Write = ["bench-src-*"];
        });
        return builder.Build();
    }

    private static BenchOptions? Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                return null;
            }

            values[args[i][2..]] = args[i + 1];
        }

        if (args.Length % 2 != 0 || !values.TryGetValue("storage", out var storage) || !values.TryGetValue("images", out var images))
        {
            return null;
        }

        // A count that is not a positive number makes the whole command line wrong (usage), never a stack trace.
        static int? Positive(string text) =>
            int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : null;
        int? Int(string key, int fallback) => values.TryGetValue(key, out var v) ? Positive(v) : fallback;
        var counts = images.Split(',').Select(Positive).ToArray();
        if (counts.Any(c => c is null) || Int("workers", 200) is not { } workers || Int("shard-size", JobDefaults.ShardSize) is not { } shardSize
            || Int("segment-size", new CoordinatorOptions().SegmentSize) is not { } segmentSize
            || Int("silo-port", 14111) is not { } siloPort || Int("gateway-port", 14112) is not { } gatewayPort)
        {
            return null;
        }

        return new BenchOptions(storage, [.. counts.Select(c => c!.Value)], workers, shardSize, segmentSize, siloPort, gatewayPort);
    }

    private sealed record BenchOptions(string Storage, int[] Images, int Workers, int ShardSize, int SegmentSize, int SiloPort, int GatewayPort);

    /// <summary>Bytes and blobs of coordinator state written, from the silo's own metrics.</summary>
    private sealed class StateBytesListener : IDisposable
    {
        private readonly MeterListener listener = new();
        private long bytes;
        private long writes;

        public StateBytesListener()
        {
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == JobMetrics.MeterName && instrument.Name.StartsWith("mobilenet.coordinator.state.", StringComparison.Ordinal))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
            {
                if (instrument.Name.EndsWith("bytes_written", StringComparison.Ordinal))
                {
                    Interlocked.Add(ref bytes, value);
                }
                else
                {
                    Interlocked.Add(ref writes, value);
                }
            });
            listener.Start();
        }

        public long Bytes => Interlocked.Read(ref bytes);

        public long Writes => Interlocked.Read(ref writes);

        public void Dispose() => listener.Dispose();
    }
}
