using System.Runtime.InteropServices;

namespace MobileNet.Inference.Tests;

public sealed class QuantizedKernelPrecisionTests
{
    [SkippableFact]
    public void NeedsU8U8Kernels_ThisCpu_OnlyOnX64WithoutVnniAsTheKernelReportsIt()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo"), "reads the CPU flags from /proc/cpuinfo");
        var flags = File.ReadLines("/proc/cpuinfo").First(line => line.StartsWith("flags", StringComparison.Ordinal) || line.StartsWith("Features", StringComparison.Ordinal))
            .Split(':', 2)[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        var vnni = flags.Contains("avx_vnni") || (flags.Contains("avx512_vnni") && flags.Contains("avx512f"));

        var expected = RuntimeInformation.ProcessArchitecture == Architecture.X64 && !vnni;

        Assert.Equal(expected, QuantizedKernelPrecision.NeedsU8U8Kernels);
    }
}
