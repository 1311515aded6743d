#include "dispatch.h"

GC_DISPATCH(gc_gemm_tiles, (const gc_gemm_tiles_args *args), (args))
GC_DISPATCH(gc_gemm_prepare, (const gc_gemm_prepare_args *args), (args))
GC_DISPATCH(gc_gemm_columns, (const gc_gemm_columns_args *args), (args))
GC_DISPATCH(
  gc_gemm_transpose,
  (const float *t, int64_t t_stride, int64_t positions, int64_t channels, float *y, int64_t ldy,
   const float *clamp, int32_t add, int32_t activation),
  (t, t_stride, positions, channels, y, ldy, clamp, add, activation))
