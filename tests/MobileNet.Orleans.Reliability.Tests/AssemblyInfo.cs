// Each scenario runs its own cluster of silo processes: one at a time, so they do not starve each other of the CPU.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
