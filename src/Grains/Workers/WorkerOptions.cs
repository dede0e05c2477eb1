using System.ComponentModel.DataAnnotations;

namespace MobileNet.Orleans.Grains.Workers;

/// <summary>How a silo's shard worker runs (section <c>Worker</c>).</summary>
public sealed class WorkerOptions
{
    public const string SectionName = "Worker";

    /// <summary>Shards labeled at once; 0 = one per <see cref="IntraOpThreads"/> cores (at least one).</summary>
    [Range(0, 256)]
    public int Slots { get; set; }

    /// <summary>ONNX Runtime threads per inference call; the model is shared by all slots.</summary>
    [Range(1, 256)]
    public int IntraOpThreads { get; set; } = 1;

    /// <summary>Images per inference call.</summary>
    [Range(1, 256)]
    public int BatchSize { get; set; } = 8;

    /// <summary>Blob downloads in flight per shard (I/O bound, so more than the cores).</summary>
    [Range(1, 64)]
    public int ReadParallelism { get; set; } = 4;

    /// <summary>How often a running shard renews its lease (and reports progress); well under the lease duration.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan LeaseRenewInterval { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How often a worker with free slots asks for work (a finished shard wakes it at once).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long the active-job list is reused before asking the registry again; with the poll interval it
    /// bounds how late an idle silo sees a new job (one in-memory grain call per poll and silo).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan ActiveJobsCacheTime { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How often the silo attributes its CPU time to jobs and reports usage to their coordinators and its stats to the cluster.</summary>
    [Range(typeof(TimeSpan), "00:00:00.200", "00:01:00")]
    public TimeSpan UsageReportInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Calls to coordinators give up after this long (a call to a dead silo would otherwise wait 30 s).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>On shutdown, running shards get this long to finish before they are handed back.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:30:00")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Where downloaded models are kept (one folder per SHA-256).</summary>
    [Required]
    public string CacheDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "mobilenet-model-cache");

    /// <summary>Blobs larger than this become <c>too-large</c> error rows without being downloaded.</summary>
    [Range(1L, 2_000_000_000L)]
    public long MaxImageBytes { get; set; } = 64L * 1024 * 1024;

    public int EffectiveSlots => Slots > 0 ? Slots : Math.Max(1, Environment.ProcessorCount / IntraOpThreads);

    /// <summary>Decoders per shard: the cores shared out among the slots, so a full silo does not oversubscribe its CPUs.</summary>
    public int DecodeParallelism => Math.Max(1, Environment.ProcessorCount / EffectiveSlots);
}
