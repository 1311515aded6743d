// Depthwise convolution of small planes (late layers: 7×7, 14×14) with 16 channels in the
// vector lanes, as a blocked (NCHW16c) layout would hold them, from and to NCHW.
#ifndef GC_DWLANES_H
#define GC_DWLANES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One call of `gc_dwlanes`: channel blocks [block_begin, block_end) of one image.
///
/// Per block of 16 channels: the block's planes are transposed into `staged`, padded with
/// zeros, as [staged_h][staged_w][16]; each output position is then one vector of 16 channels,
/// its taps one multiply-add each with the tap's 16 weights; the sums go through `sums`
/// ([out_h · out_w][16]) and are transposed back into the channels' output planes.
typedef struct gc_dwlanes_args {
  /// The image's input [channels][in_h][in_w] and output [channels][out_h][out_w].
  const float *x;
  float *y;
  int64_t channels;
  int64_t in_h, in_w, out_h, out_w;
  int64_t kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w;
  /// Zeros before the first row and column.
  int64_t pad_top, pad_left;
  /// Packed weights: weights[(block · kernel_h · kernel_w + tap) · 16 + lane], zero past the
  /// channels.
  const float *weights;
  /// 16 floats per block (zero past the channels), or NULL.
  const float *bias;
  /// NULL, or {low, high}: each output clamped to [low, high].
  const float *clamp;
  /// -1, or a gc_activation_kind applied to each output after the clamp.
  int32_t activation;
  /// Extents of the staged, padded planes: every row and column a tap reads.
  int64_t staged_h, staged_w;
  /// staged_h · staged_w · 16 floats, then out_h · out_w · 16 (rounded up to 16 positions):
  /// this call's scratch, 64-byte aligned.
  float *scratch;
  int64_t block_begin, block_end;
} gc_dwlanes_args;

void gc_dwlanes(const gc_dwlanes_args *args);

#ifdef __cplusplus
}
#endif

#endif
