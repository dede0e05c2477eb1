namespace MobileNet.Orleans.Contracts.Cluster;

/// <summary>What a silo says about itself every few seconds (the dashboard's cluster page).</summary>
[GenerateSerializer, Immutable, Alias("mobilenet.silo-report")]
public sealed record SiloReport
{
    [Id(0)] public required string Silo { get; init; }

    /// <summary>The silo's advertised endpoint (ip:port).</summary>
    [Id(1)] public string? Address { get; init; }

    [Id(2)] public int Cores { get; init; }

    [Id(3)] public int Slots { get; init; }

    [Id(4)] public int RunningShards { get; init; }

    [Id(5)] public bool Draining { get; init; }

    [Id(6)] public IReadOnlyList<LoadedModel> Models { get; init; } = [];

    /// <summary>Bytes of model versions loaded in memory, against <see cref="CacheMemoryBudgetBytes"/>.</summary>
    [Id(7)] public long CacheMemoryBytes { get; init; }

    [Id(8)] public long CacheMemoryBudgetBytes { get; init; }

    /// <summary>Bytes in the model cache folder, against <see cref="CacheDiskBudgetBytes"/>.</summary>
    [Id(9)] public long CacheDiskBytes { get; init; }

    [Id(10)] public long CacheDiskBudgetBytes { get; init; }

    /// <summary>Process CPU time since the silo started.</summary>
    [Id(11)] public double CpuSeconds { get; init; }

    /// <summary>Images this silo processed since it started (labeled + error rows).</summary>
    [Id(12)] public long ImagesProcessed { get; init; }

    /// <summary>Share of the silo's cores busy over the last report interval (0..1).</summary>
    [Id(13)] public double CpuUtilization { get; init; }

    [Id(14)] public DateTimeOffset StartedAt { get; init; }

    [Id(15)] public DateTimeOffset ReportedAt { get; init; }
}

/// <summary>A model version in a silo's memory.</summary>
[GenerateSerializer, Immutable, Alias("mobilenet.loaded-model")]
public sealed record LoadedModel
{
    [Id(0)] public required string Name { get; init; }

    [Id(1)] public required string Sha256 { get; init; }

    [Id(2)] public long SizeBytes { get; init; }

    /// <summary>Shards using it now.</summary>
    [Id(3)] public int Users { get; init; }
}
