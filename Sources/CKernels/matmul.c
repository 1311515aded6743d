// Picks the matrix-product kernels for this CPU.
#include "CKernels.h"

void gc_matmul_avx512(const gc_matmul_args *args);
void gc_matmul_generic(const gc_matmul_args *args);

void gc_matmul(const gc_matmul_args *args) {
#if defined(__x86_64__)
  if (gc_has_avx512()) {
    gc_matmul_avx512(args);
    return;
  }
#endif
  gc_matmul_generic(args);
}
