#include "dispatch.h"

GC_DISPATCH(gc_blocked_pointwise, (const gc_blocked_pointwise_args *a), (a))
GC_DISPATCH(gc_blocked_depthwise, (const gc_blocked_depthwise_args *a), (a))
GC_DISPATCH(
  gc_blocked_from_planes,
  (const float *x, float *y, int64_t channels, int64_t positions, int64_t block,
   int64_t p_begin, int64_t p_end),
  (x, y, channels, positions, block, p_begin, p_end))
GC_DISPATCH(
  gc_blocked_to_planes,
  (const float *x, float *y, int64_t channels, int64_t positions, int64_t block,
   int64_t p_begin, int64_t p_end),
  (x, y, channels, positions, block, p_begin, p_end))
GC_DISPATCH(
  gc_blocked_mean,
  (const float *x, float *y, int64_t channels, int64_t positions, int64_t block),
  (x, y, channels, positions, block))
GC_DISPATCH(gc_blocked_dense, (const gc_blocked_dense_args *a), (a))
GC_DISPATCH(
  gc_blocked_stage,
  (const float *x, int64_t in_blocks, int64_t in_h, int64_t in_w, int64_t row0,
   int64_t kernel_h, int64_t dilation_h, int64_t column0, int64_t columns, int32_t planes,
   float *stage),
  (x, in_blocks, in_h, in_w, row0, kernel_h, dilation_h, column0, columns, planes, stage))
GC_DISPATCH(gc_blocked_max_pool, (const gc_blocked_max_pool_args *a), (a))
GC_DISPATCH(
  gc_blocked_gate,
  (const float *x, const float *gate, float *y, int64_t positions, int64_t block_begin,
   int64_t block_end),
  (x, gate, y, positions, block_begin, block_end))
GC_DISPATCH(
  gc_blocked_add_finish,
  (float *y, const float *partial, int64_t begin, int64_t end, const float *clamp,
   int32_t activation),
  (y, partial, begin, end, clamp, activation))
GC_DISPATCH(
  gc_transpose,
  (const float *x, float *y, int64_t rows, int64_t columns, int64_t r_begin, int64_t r_end,
   const float *scale, const float *residual),
  (x, y, rows, columns, r_begin, r_end, scale, residual))
