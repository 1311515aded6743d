// Weight gradients: the instruction set chosen at run time, and the horizontal sums.
#include "dispatch.h"

GC_DISPATCH(
  gc_wgrad_accumulate,
  (const gc_wgrad_plan *plan, const float *dy, const float *x, long groups, long row_begin,
   long row_end, float *acc, float *bias, float *scratch),
  (plan, dy, x, groups, row_begin, row_end, acc, bias, scratch))
GC_DISPATCH(
  gc_wgrad_lanes_accumulate,
  (const gc_wgrad_lanes_plan *plan, const float *dy, const float *x, long lanes,
   long row_begin, long row_end, float *acc, float *bias, float *scratch),
  (plan, dy, x, lanes, row_begin, row_end, acc, bias, scratch))
GC_DISPATCH(
  gc_wgrad_lanes_store, (const float *acc, long sums, long lanes, float *dst),
  (acc, sums, lanes, dst))
GC_DISPATCH(
  gc_wgrad_reduce, (const float *acc, long count, float *dw, int accumulate),
  (acc, count, dw, accumulate))

long gc_wgrad_scratch_count(const gc_wgrad_plan *plan) {
  return plan->x_per_group * plan->phases * plan->phase_stride
    + plan->y_per_group * plan->dy_stride;
}

long gc_wgrad_lanes_scratch_count(const gc_wgrad_lanes_plan *plan) {
  return 16
    * (plan->y_per_group * plan->band_rows * plan->row_length
       + plan->x_per_group * plan->window);
}
