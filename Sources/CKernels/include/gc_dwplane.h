// Depthwise convolution with stride 1 read straight from NCHW planes: each channel's plane is
// taken as one flat row, 16 output positions a vector, and every tap is a constant shift of
// it, read under a mask of the lanes whose input lies inside the plane (the padding).
#ifndef GC_DWPLANE_H
#define GC_DWPLANE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One call of `gc_dwplane`: output channels [channel_begin, channel_end) of one image.
///
/// Input and output rows have the same width, so output position o (flat, row-major) reads
/// input position o + offsets[tap] for each tap, where masks[tap · vectors + o / 16] has bit
/// o % 16 set; the other lanes read nothing and add zero.
typedef struct gc_dwplane_args {
  /// The image's input [in_channels][plane] and output [out_channels][out_plane].
  const float *x;
  float *y;
  /// Output channels per input channel: output channel o reads input channel o / multiplier.
  int64_t multiplier;
  int64_t plane, out_plane;
  int64_t taps;
  /// Per tap, the flat shift from an output position to the input position it reads.
  const int64_t *offsets;
  /// Per tap and output vector, the lanes that read inside the input.
  const uint16_t *masks;
  /// Vectors per output plane: (out_plane + 15) / 16.
  int64_t vectors;
  /// weights[o · taps + tap].
  const float *weights;
  /// [out_channels], or NULL.
  const float *bias;
  /// NULL, or {low, high}: each output clamped to [low, high].
  const float *clamp;
  /// -1, or a gc_activation_kind applied to each output after the clamp.
  int32_t activation;
  /// Nonzero: add what y holds (a residual) before the clamp.
  int32_t add;
  int64_t channel_begin, channel_end;
} gc_dwplane_args;

void gc_dwplane(const gc_dwplane_args *args);

#ifdef __cplusplus
}
#endif

#endif
