using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MobileNet.Orleans.Grains.Models;

/// <summary>Limits of a silo's model cache (section <c>ModelCache</c>; the folder itself is <c>Worker:CacheDirectory</c>).</summary>
public sealed class ModelCacheOptions
{
    public const string SectionName = "ModelCache";

    /// <summary>Largest ONNX file a silo downloads and loads; a bigger model fails its shards with <c>model-too-large</c>.</summary>
    [Range(1L, 64L * 1024 * 1024 * 1024)]
    public long MaxModelBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>Disk the cache folder may use; least recently used model versions not loaded are deleted beyond it.</summary>
    [Range(1L, long.MaxValue)]
    public long DiskBudgetBytes { get; set; } = 8L * 1024 * 1024 * 1024;

    /// <summary>Memory the loaded models may use (counted as their ONNX size); least recently used idle models are unloaded beyond it.</summary>
    [Range(1L, long.MaxValue)]
    public long MemoryBudgetBytes { get; set; } = 4L * 1024 * 1024 * 1024;
}

/// <summary>Budgets must hold at least one model of the largest allowed size, or no model could ever be kept.</summary>
public sealed class ModelCacheOptionsValidator : IValidateOptions<ModelCacheOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelCacheOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.DiskBudgetBytes < options.MaxModelBytes)
        {
            failures.Add($"ModelCache:DiskBudgetBytes ({options.DiskBudgetBytes}) must be at least ModelCache:MaxModelBytes ({options.MaxModelBytes})");
        }

        if (options.MemoryBudgetBytes < options.MaxModelBytes)
        {
            failures.Add($"ModelCache:MemoryBudgetBytes ({options.MemoryBudgetBytes}) must be at least ModelCache:MaxModelBytes ({options.MaxModelBytes})");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
