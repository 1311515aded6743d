// A loop of independent fused multiply-adds: times the FMA peak that a benchmark reports
// its results against. 24 accumulators hide the FMA latency on two FMA ports.
float GC_ISA(gc_fma_peak)(long iterations) {
  gc_v16 acc[24];
  for (int i = 0; i < 24; i++) acc[i] = gc_splat((float)i * 1e-3f);
  const gc_v16 a = gc_splat(0.999999f), b = gc_splat(1e-7f);
  for (long it = 0; it < iterations; it++) {
#pragma clang loop unroll(full)
    for (int i = 0; i < 24; i++) acc[i] = acc[i] * a + b;
  }
  gc_v16 sum = gc_splat(0);
  for (int i = 0; i < 24; i++) sum += acc[i];
  float total = 0;
  for (int i = 0; i < 16; i++) total += sum[i];
  return total;
}
