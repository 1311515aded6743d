#include "CKernels.h"

void gc_gemm_tiles_avx512(const gc_gemm_tiles_args *args);
void gc_gemm_tiles_generic(const gc_gemm_tiles_args *args);
void gc_gemm_prepare_avx512(const gc_gemm_prepare_args *args);
void gc_gemm_prepare_generic(const gc_gemm_prepare_args *args);
void gc_gemm_columns_avx512(const gc_gemm_columns_args *args);
void gc_gemm_columns_generic(const gc_gemm_columns_args *args);

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

void gc_gemm_columns(const gc_gemm_columns_args *args) {
#if defined(__x86_64__)
  if (gc_has_avx512()) {
    gc_gemm_columns_avx512(args);
    return;
  }
#endif
  gc_gemm_columns_generic(args);
}

void gc_gemm_transpose_avx512(
  const float *t, int64_t t_stride, int64_t positions, int64_t channels, float *y, int64_t ldy,
  const float *clamp, int32_t add, int32_t activation);
void gc_gemm_transpose_generic(
  const float *t, int64_t t_stride, int64_t positions, int64_t channels, float *y, int64_t ldy,
  const float *clamp, int32_t add, int32_t activation);

void gc_gemm_transpose(
  const float *t, int64_t t_stride, int64_t positions, int64_t channels, float *y, int64_t ldy,
  const float *clamp, int32_t add, int32_t activation) {
#if defined(__x86_64__)
  if (gc_has_avx512()) {
    gc_gemm_transpose_avx512(t, t_stride, positions, channels, y, ldy, clamp, add, activation);
    return;
  }
#endif
  gc_gemm_transpose_generic(t, t_stride, positions, channels, y, ldy, clamp, add, activation);
}
