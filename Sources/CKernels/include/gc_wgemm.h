// The weight gradient as a matrix product (dense, pointwise and many-channel grouped
// convolution).
//
// Per group, dw[o, k] = sum over p of dy[o, p] * B[k, p]: o an output channel, k = (input
// channel, tap), p a compute position (see gc_gemm.h), B[k, p] = src[koff[k] + p] a shifted
// piece of the input or of its phase planes (gc_gemm_prepare), and dy laid out in the same
// compute space, zero at the dropped positions. The product is computed transposed, output
// channels in the vector lanes: C[k, o] += sum over p of B[k, p] * A[p, o], with A = dy packed
// position-major (gc_wgemm_pack). The reduction runs over positions, so the sums stay in
// registers for a whole block of them and nothing is summed horizontally.
#ifndef GC_WGEMM_H
#define GC_WGEMM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The most rows of C a microkernel computes; `rows` rounded up to a microkernel's height is
/// at most rows + GC_WGEMM_MR_MAX - 1.
#define GC_WGEMM_MR_MAX 8

/// One call of `gc_wgemm_tiles`: C[k, o] (+)= sum over p < positions of B[k, p] * A[p, o] for
/// k < rows and o < 16 * vectors.
typedef struct gc_wgemm_tiles_args {
  /// A[p, o] = a[p * lda + o]: the packed dy, lanes past the channels zero.
  const float *a;
  int64_t lda;
  /// Vectors of 16 output channels (lda >= 16 * vectors).
  int64_t vectors;
  /// B[k, p] = src[koff[k] + p]. koff has rows + GC_WGEMM_MR_MAX - 1 entries: those past
  /// `rows` repeat a valid offset, and their sums are computed and ignored.
  const float *src;
  const int64_t *koff;
  int64_t rows;
  int64_t positions;
  /// Positions per pass over the tiles, so that that many rows of A stay in L1.
  int64_t block;
  /// C[k, o] = c[k * ldc + o], with rows + GC_WGEMM_MR_MAX - 1 rows.
  float *c;
  int64_t ldc;
  /// Add to C instead of overwriting it.
  int32_t accumulate;
} gc_wgemm_tiles_args;

void gc_wgemm_tiles(const gc_wgemm_tiles_args *args);

/// One call of `gc_wgemm_pack`: a[(p - p_begin) * lda + o] = dy[o * dy_channel_stride + q]
/// for the compute positions p in [p_begin, p_begin + count) and o < channels, where p
/// = (z * e_h + r) * e_w + c is output position q = (z * y_h + r) * y_w + c, or zero when
/// p is dropped (r >= y_h or c >= y_w); lanes [channels, lanes) are zero.
typedef struct gc_wgemm_pack_args {
  float *a;
  int64_t lda, lanes;
  const float *dy;
  int64_t dy_channel_stride, channels;
  int64_t p_begin, count;
  int64_t e_h, e_w, y_h, y_w;
  /// When not NULL, sums[o] += the packed values of lane o (the bias gradient), o < lanes.
  float *sums;
} gc_wgemm_pack_args;

void gc_wgemm_pack(const gc_wgemm_pack_args *args);

/// One call of `gc_wgemm_unpack`: dw[o * ldw + k] = c[k * ldc + o] for k < rows and
/// o < channels, 16 × 16 at a time (c is read in whole vectors: ldc >= channels rounded up
/// to 16).
typedef struct gc_wgemm_unpack_args {
  const float *c;
  int64_t ldc, rows, channels;
  float *dw;
  int64_t ldw;
} gc_wgemm_unpack_args;

void gc_wgemm_unpack(const gc_wgemm_unpack_args *args);

#ifdef __cplusplus
}
#endif

#endif
