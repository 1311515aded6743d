// Weight gradients: the instruction set chosen at run time, and the horizontal sums.
#include "CKernels.h"

void gc_wgrad_accumulate_avx512(
  const gc_wgrad_plan *plan, const float *dy, const float *x, long groups, long row_begin,
  long row_end, float *acc, float *bias, float *scratch);
void gc_wgrad_accumulate_generic(
  const gc_wgrad_plan *plan, const float *dy, const float *x, long groups, long row_begin,
  long row_end, float *acc, float *bias, float *scratch);
void gc_wgrad_lanes_accumulate_avx512(
  const gc_wgrad_lanes_plan *plan, const float *dy, const float *x, long lanes,
  long row_begin, long row_end, float *acc, float *bias, float *scratch);
void gc_wgrad_lanes_accumulate_generic(
  const gc_wgrad_lanes_plan *plan, const float *dy, const float *x, long lanes,
  long row_begin, long row_end, float *acc, float *bias, float *scratch);
void gc_wgrad_lanes_store_avx512(const float *acc, long sums, long lanes, float *dst);
void gc_wgrad_lanes_store_generic(const float *acc, long sums, long lanes, float *dst);
void gc_wgrad_reduce_avx512(const float *acc, long count, float *dw, int accumulate);
void gc_wgrad_reduce_generic(const float *acc, long count, float *dw, int accumulate);

void gc_wgrad_accumulate(
  const gc_wgrad_plan *plan, const float *dy, const float *x, long groups, long row_begin,
  long row_end, float *acc, float *bias, float *scratch) {
#if defined(__x86_64__)
  if (gc_has_avx512()) {
    gc_wgrad_accumulate_avx512(plan, dy, x, groups, row_begin, row_end, acc, bias, scratch);
    return;
  }
#endif
  gc_wgrad_accumulate_generic(plan, dy, x, groups, row_begin, row_end, acc, bias, scratch);
}

long gc_wgrad_scratch_count(const gc_wgrad_plan *plan) {
  return plan->x_per_group * plan->phases * plan->phase_stride
    + plan->y_per_group * plan->dy_stride;
}

void gc_wgrad_reduce(const float *acc, long count, float *dw, int accumulate) {
#if defined(__x86_64__)
  if (gc_has_avx512()) {
    gc_wgrad_reduce_avx512(acc, count, dw, accumulate);
    return;
  }
#endif
  gc_wgrad_reduce_generic(acc, count, dw, accumulate);
}

long gc_wgrad_lanes_scratch_count(const gc_wgrad_lanes_plan *plan) {
  return 16
    * (plan->y_per_group * plan->band_rows * plan->row_length
       + plan->x_per_group * plan->window);
}

void gc_wgrad_lanes_accumulate(
  const gc_wgrad_lanes_plan *plan, const float *dy, const float *x, long lanes,
  long row_begin, long row_end, float *acc, float *bias, float *scratch) {
#if defined(__x86_64__)
  if (gc_has_avx512()) {
    gc_wgrad_lanes_accumulate_avx512(plan, dy, x, lanes, row_begin, row_end, acc, bias, scratch);
    return;
  }
#endif
  gc_wgrad_lanes_accumulate_generic(plan, dy, x, lanes, row_begin, row_end, acc, bias, scratch);
}

void gc_wgrad_lanes_store(const float *acc, long sums, long lanes, float *dst) {
#if defined(__x86_64__)
  if (gc_has_avx512()) {
    gc_wgrad_lanes_store_avx512(acc, sums, lanes, dst);
    return;
  }
#endif
  gc_wgrad_lanes_store_generic(acc, sums, lanes, dst);
}
