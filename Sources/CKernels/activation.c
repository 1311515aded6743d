#include "dispatch.h"

GC_DISPATCH(
  gc_activation, (gc_activation_kind kind, const float *x, float *y, int64_t count),
  (kind, x, y, count))

GC_DISPATCH(
  gc_binary,
  (gc_binary_kind kind, float *y, const float *a, int64_t a_step, const float *b, int64_t b_step,
   int64_t count),
  (kind, y, a, a_step, b, b_step, count))

void gc_binary_rows(
  gc_binary_kind kind, float *y, const float *a, int64_t a_row, int64_t a_step, const float *b,
  int64_t b_row, int64_t b_step, int64_t rows, int64_t count) {
  for (int64_t r = 0; r < rows; r++)
    gc_binary(kind, y + r * count, a + r * a_row, a_step, b + r * b_row, b_step, count);
}

GC_DISPATCH_RETURNING(float, gc_sum, (const float *x, int64_t count), (x, count))

GC_DISPATCH(
  gc_layer_norm,
  (const float *x, float *y, int64_t rows, int64_t inner, const float *scale, const float *bias,
   float epsilon),
  (x, y, rows, inner, scale, bias, epsilon))
GC_DISPATCH(
  gc_transpose_layer_norm,
  (const float *x, float *y, int64_t channels, int64_t positions, int64_t p_begin,
   int64_t p_end, const float *scale, const float *bias, float epsilon),
  (x, y, channels, positions, p_begin, p_end, scale, bias, epsilon))
