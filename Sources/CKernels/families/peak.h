// A loop of independent fused multiply-adds: times the FMA peak that a benchmark reports
// its results against. Enough accumulators hide the FMA latency on two FMA ports, and few
// enough stay in registers: 24 vectors in AVX-512's 32 registers, 6 (12 registers) in AVX2's
// 16, 3 elsewhere. Every call does `iterations` × 24 vector multiply-adds.
#if defined(GC_VECTOR_AVX512)
#define GC_PEAK_ACCUMULATORS 24
#elif defined(GC_VECTOR_AVX2)
#define GC_PEAK_ACCUMULATORS 6
#else
#define GC_PEAK_ACCUMULATORS 3
#endif

float GC_ISA(gc_fma_peak)(long iterations) {
  enum { n = GC_PEAK_ACCUMULATORS };
  gc_v16 acc[n];
  for (int i = 0; i < n; i++) acc[i] = gc_splat((float)i * 1e-3f);
  const gc_v16 a = gc_splat(0.999999f), b = gc_splat(1e-7f);
  const long rounds = iterations * (24 / n);
  for (long it = 0; it < rounds; it++) {
#pragma clang loop unroll(full)
    for (int i = 0; i < n; i++) acc[i] = acc[i] * a + b;
  }
  gc_v16 sum = gc_splat(0);
  for (int i = 0; i < n; i++) sum += acc[i];
  float total = 0;
  for (int i = 0; i < 16; i++) total += sum[i];
  return total;
}
#undef GC_PEAK_ACCUMULATORS
