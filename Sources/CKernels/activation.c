#include "CKernels.h"

void gc_activation_avx512(gc_activation_kind kind, const float *x, float *y, int64_t count);
void gc_activation_generic(gc_activation_kind kind, const float *x, float *y, int64_t count);

void gc_activation(gc_activation_kind kind, const float *x, float *y, int64_t count) {
#if defined(__x86_64__)
  if (gc_has_avx512()) {
    gc_activation_avx512(kind, x, y, count);
    return;
  }
#endif
  gc_activation_generic(kind, x, y, count);
}
