// Matrix-multiplication microkernels (dense, pointwise and many-channel grouped convolution).
//
// One group of a convolution is the product Y[o, p] = sum over k of A[o, k] * B[k, p]:
// o an output channel, k = (input channel, tap), p a position of the *compute space*, the
// output positions laid out with the row pitch of the input (so that every B row is a
// contiguous, shifted piece of the input: B[k, p] = src[koff[k] + p]). Compute positions
// whose column (or row) lies beyond the output are computed and dropped.
//
// Stride and padding are handled by `gc_gemm_prepare`, which copies the input into phase
// planes (one per stride phase of each dimension, padding written as zeros); a convolution
// with stride 1 and no padding reads its input in place. For planes of few positions,
// `gc_gemm_columns` computes the same product with the output channels in the vector lanes.
#ifndef GC_GEMM_H
#define GC_GEMM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Output channels per microkernel call: rows of a packed weight panel.
#define GC_GEMM_MR 8
/// Compute positions per microkernel call: 3 vectors of 16.
#define GC_GEMM_NR 48

/// One call of `gc_gemm_tiles`: output channels [0, m) of one group (or a part of it) at
/// compute positions [p_begin, p_end), over the K slice the panels and offsets describe.
typedef struct gc_gemm_tiles_args {
  /// Packed weights of the first 8 output channels, at the K slice's first k:
  /// panel[k * 8 + row]. Rows beyond m are zero.
  const float *panels;
  /// Floats from one 8-channel panel to the next.
  int64_t panel_stride;
  /// Output channels computed.
  int64_t m;
  /// B at compute position p_begin: B[k, p] = src[koff[k] + p - p_begin]. Read in whole
  /// vectors: up to p_end rounded up to 16 past p_begin, plus the largest offset.
  const float *src;
  /// The offsets of the K slice's rows.
  const int64_t *koff;
  /// Rows of the K slice.
  int64_t kc;
  /// Compute positions; p_begin - (compute origin) is a multiple of 48 only for speed.
  int64_t p_begin, p_end;
  /// Compute space: position p = (z * e_h + r) * e_w + c; it is output position (z, r, c)
  /// when r < y_h and c < y_w, else dropped.
  int64_t e_h, e_w, y_h, y_w;
  /// Output channel 0's plane; planes are ldy floats apart.
  float *y;
  int64_t ldy;
  /// Bias of output channel 0, or NULL.
  const float *bias;
  /// Add to y (a later K slice, or a residual) instead of overwriting it.
  int32_t accumulate;
  /// NULL, or {low, high}: each stored value is clamped to [low, high] (a fused ReLU or
  /// clip; only on the last K slice).
  const float *clamp;
  /// -1, or a gc_activation_kind applied to each stored value after the clamp (only on the
  /// last K slice).
  int32_t activation;
  /// NULL, or 64-byte aligned scratch of (GC_GEMM_PACK_ROWS + m rounded up to 8) · 48
  /// floats: each tile's B is then copied into it in blocks of at most GC_GEMM_PACK_ROWS
  /// rows, which stay in L1 while every 8 output channels read them (instead of each reading
  /// B in place), and the sums of the m channels are kept there between blocks.
  float *pack;
  /// NULL, or (with `pack`, stride 1 and output rows as wide as the input's) B gathered
  /// straight from the input planes while packing: B[k, p] = src[koff[k] + p - p_begin] for
  /// the lanes set in masks[(k % taps) · mask_vectors + p / 16] (bit p % 16), zero in the
  /// others (the padding, and positions past the plane), which are not read. k counts from
  /// the K slice's first row, which is a channel's first tap.
  const uint16_t *masks;
  int64_t taps, mask_vectors;
} gc_gemm_tiles_args;
/// Rows of B in one packed block at most: 24 KiB.
#define GC_GEMM_PACK_ROWS 128

/// Y = A · B (+ bias, or + Y) for the tiles of `args`.
void gc_gemm_tiles(const gc_gemm_tiles_args *args);

/// One call of `gc_gemm_prepare`: copies positions [f_begin, f_begin + length) of the phase
/// planes of `channels` input channels into dst.
///
/// The phase plane (ph_d, ph_h, ph_w) of a channel holds, at (z, r, c) (flattened with
/// pitches e_h and e_w), the input element (z * stride_d + ph_d - pad_d, ...) or zero outside
/// the input. dst[(channel * phase count + phase) * block_len + i] = plane[f_begin + i],
/// phases ordered (d, h, w) with w fastest.
typedef struct gc_gemm_prepare_args {
  float *dst;
  int64_t block_len;
  const float *x;
  int64_t x_channel_stride;
  int64_t channels;
  /// Input extents (d, h, w).
  int64_t x_size[3];
  /// Phase-plane pitches.
  int64_t e_h, e_w;
  int64_t stride[3];
  int64_t pad[3];
  /// Phases per dimension and their values (phase_values[dim] points at phase_count[dim]).
  int64_t phase_count[3];
  const int64_t *phase_values[3];
  int64_t f_begin, length;
} gc_gemm_prepare_args;

void gc_gemm_prepare(const gc_gemm_prepare_args *args);

/// Output positions per call of the column microkernel.
#define GC_GEMM_COLUMNS_MR 6
/// Output channels per call of the column microkernel: 4 vectors of 16.
#define GC_GEMM_COLUMNS_NR 64

/// One call of `gc_gemm_columns`: for few output positions (late layers), the product the
/// other way round: output channels in the vector lanes, input values broadcast, 6 positions ×
/// 64 channels per call. Y^T[q, o] = sum over k of B[k, q] * panel[k, o] for the outputs
/// q in [q_begin, q_end) of a plane (q = (z * y_h + r) * y_w + c, read at compute position
/// p = (z * e_h + r) * e_w + c: B[k, q] = src[koff[k] + p]).
typedef struct gc_gemm_columns_args {
  /// Weights at the K slice's first k: panel[k * 64 + channel], zero past the channels.
  const float *panel;
  const float *src;
  const int64_t *koff;
  int64_t kc;
  int64_t q_begin, q_end;
  int64_t e_h, e_w, y_h, y_w;
  /// Sums, position-major: t[(q - q_begin) * 64 + channel].
  float *t;
  /// 64 floats added when not accumulating (zero past the channels), or NULL.
  const float *bias;
  /// Add to t (a later K slice) instead of starting from the bias.
  int32_t accumulate;
  /// Vectors of 16 channels computed (1...4).
  int32_t vectors;
} gc_gemm_columns_args;

void gc_gemm_columns(const gc_gemm_columns_args *args);

/// y[channel * ldy + q] = t[q * t_stride + channel] (+ y[channel * ldy + q] when `add`) for
/// q < positions, channel < channels, clamped to [clamp[0], clamp[1]] unless clamp is NULL,
/// then `activation` (a gc_activation_kind, or -1 for none).
void gc_gemm_transpose(
  const float *t, int64_t t_stride, int64_t positions, int64_t channels, float *y, int64_t ldy,
  const float *clamp, int32_t add, int32_t activation);

#ifdef __cplusplus
}
#endif

#endif
