#include "CKernels.h"

float gc_fma_peak_avx512(long iterations);
float gc_fma_peak_generic(long iterations);

float gc_fma_peak(long iterations) {
#if defined(__x86_64__)
  if (gc_has_avx512()) return gc_fma_peak_avx512(iterations);
#endif
  return gc_fma_peak_generic(iterations);
}
