#include "CKernels.h"

void gc_gemm_tiles_avx512(const gc_gemm_tiles_args *args);
void gc_gemm_tiles_generic(const gc_gemm_tiles_args *args);
void gc_gemm_prepare_avx512(const gc_gemm_prepare_args *args);
void gc_gemm_prepare_generic(const gc_gemm_prepare_args *args);

void gc_gemm_tiles(const gc_gemm_tiles_args *args) {
#if defined(__x86_64__)
  if (gc_has_avx512()) {
    gc_gemm_tiles_avx512(args);
    return;
  }
#endif
  gc_gemm_tiles_generic(args);
}

void gc_gemm_prepare(const gc_gemm_prepare_args *args) {
#if defined(__x86_64__)
  if (gc_has_avx512()) {
    gc_gemm_prepare_avx512(args);
    return;
  }
#endif
  gc_gemm_prepare_generic(args);
}
