using Microsoft.Extensions.Options;

namespace MobileNet.Orleans.Grains.Jobs;

/// <summary>Rules across the coordinator's timings.</summary>
public sealed class CoordinatorOptionsValidator : IValidateOptions<CoordinatorOptions>
{
    public ValidateOptionsResult Validate(string? name, CoordinatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        // Leases are checked once per housekeeping turn: a turn as long as a lease would let a dead worker keep a shard twice as long.
        if (options.HousekeepingInterval >= options.LeaseDuration)
        {
            failures.Add($"Coordinator:HousekeepingInterval ({options.HousekeepingInterval:c}) must be shorter than Coordinator:LeaseDuration ({options.LeaseDuration:c}), or expired leases are noticed a whole lease late");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
