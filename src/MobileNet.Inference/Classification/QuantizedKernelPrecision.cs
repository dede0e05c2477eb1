using System.Runtime.Intrinsics.X86;

namespace MobileNet.Inference;

/// <summary>
/// Whether this CPU needs ONNX Runtime's U8U8 int8 kernels (<c>session.x64quantprecision=1</c>) to compute an int8
/// model exactly. On x64 without VNNI (AVX2; AVX-512 without VNNI) the default U8S8 kernels multiply with
/// <c>vpmaddubsw</c>, whose 16-bit pair sums saturate on full-range weights: the zoo MobileNetV2 int8 then gives the
/// tench photo a logit of 9.45 instead of 17.62 and scores 76.5% instead of 85% top-1. VNNI (<c>vpdpbusd</c>) adds in 32
/// bits and is exact, and there U8U8 only costs speed (72 against 120 images/s for classify on the 200 sample photos,
/// same labels and scores to the last digit). arm64 kernels do not saturate.
/// </summary>
internal static class QuantizedKernelPrecision
{
    private const int Avx512VnniBit = 1 << 11; // CPUID leaf 7, sub-leaf 0, ECX

    /// <summary>True on x64 CPUs without AVX-VNNI or (usable) AVX512-VNNI.</summary>
    public static bool NeedsU8U8Kernels { get; } = Detect();

    private static bool Detect()
    {
        if (!X86Base.IsSupported)
        {
            return false;
        }

        if (AvxVnni.IsSupported)
        {
            return false;
        }

        // Avx512F.IsSupported also means the OS saves AVX-512 state, which ONNX Runtime checks before using VNNI there.
        return !(Avx512F.IsSupported && (X86Base.CpuId(7, 0).Ecx & Avx512VnniBit) != 0);
    }
}
