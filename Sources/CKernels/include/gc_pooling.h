// Max and average pooling of one NC(D)(H)W plane, the windows' taps folded 16 output
// positions at a time.
#ifndef GC_POOLING_H
#define GC_POOLING_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One plane of a pooling, in three spatial dimensions (depth, height, width; leading
/// extents of 1 for 1-D and 2-D). Output position o of a dimension reads input positions
/// o · stride − pad + t · dilation for its taps t in [lo, hi) (those inside the input).
typedef struct gc_pooling_args {
  /// The plane's input [in_d, in_h, in_w] and output [out_d, out_h, out_w].
  const float *x;
  float *y;
  int64_t in_h, in_w;
  int64_t out_d, out_h, out_w;
  int64_t stride[3], dilation[3], pad[3];
  int64_t kernel_w;
  /// Per dimension, per output position: its taps [lo, hi) as two int32 (taps[d][2 o],
  /// taps[d][2 o + 1]).
  const int32_t *taps[3];
  /// Output columns whose window holds all kernel_w taps of the width.
  int64_t interior_lo, interior_hi;
  /// Average pooling: per dimension, per output position, the divisor factor (the mean is
  /// the sum over the product of the three factors). Max pooling: NULL.
  const int32_t *divisors[3];
  /// Floats the call may use: at least `gc_pooling_scratch_pitch(in_w)`; more lets it fold
  /// several rows in one pass.
  float *scratch;
  int64_t scratch_count;
} gc_pooling_args;

/// Floats per folded row in the scratch: in_w and 32 of slack, in whole vectors.
static inline int64_t gc_pooling_scratch_pitch(int64_t in_w) { return (in_w + 32 + 15) / 16 * 16; }

/// y = the max (or the mean) of each window of x. The max of a window ignores NaN inputs and
/// is at least -FLT_MAX (its starting value), as a running `value > max ? value : max`.
void gc_pooling_plane(const gc_pooling_args *args);

#ifdef __cplusplus
}
#endif

#endif
