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

void gc_gemm_transpose(
  const float *t, int64_t t_stride, int64_t positions, int64_t channels, float *y, int64_t ldy,
  const float *clamp, int32_t add) {
  const float low = clamp ? clamp[0] : -__builtin_inff(), high = clamp ? clamp[1] : __builtin_inff();
  // Blocks of 16 × 16 so that both sides stay in cache lines.
  for (int64_t q0 = 0; q0 < positions; q0 += 16) {
    int64_t q1 = q0 + 16 < positions ? q0 + 16 : positions;
    for (int64_t c0 = 0; c0 < channels; c0 += 16) {
      int64_t c1 = c0 + 16 < channels ? c0 + 16 : channels;
      for (int64_t c = c0; c < c1; c++) {
        for (int64_t q = q0; q < q1; q++) {
          float v = add ? t[q * t_stride + c] + y[c * ldy + q] : t[q * t_stride + c];
          y[c * ldy + q] = v < low ? low : v > high ? high : v;
        }
      }
    }
  }
}
