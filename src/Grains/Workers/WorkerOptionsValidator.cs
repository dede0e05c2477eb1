using Microsoft.Extensions.Options;
using MobileNet.Orleans.Grains.Jobs;

namespace MobileNet.Orleans.Grains.Workers;

/// <summary>Rules across fields (and across the coordinator's timings, which every silo hosts too).</summary>
public sealed class WorkerOptionsValidator(IOptions<CoordinatorOptions> coordinator) : IValidateOptions<WorkerOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        TimeSpan lease;
        try
        {
            lease = coordinator.Value.LeaseDuration;
        }
        catch (OptionsValidationException)
        {
            // The coordinator's own validation reports what is wrong with it.
            return ValidateOptionsResult.Skip;
        }

        // Two renewals per lease at least: one lost renewal (a coordinator moving after its silo died) keeps the lease.
        if (options.LeaseRenewInterval * 2 > lease)
        {
            failures.Add($"Worker:LeaseRenewInterval ({options.LeaseRenewInterval:c}) must be at most half of Coordinator:LeaseDuration ({lease:c}), or one late renewal loses the shard");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
