// Convolutions and layout changes in the channel-blocked layout NCHW16c: the channels of an
// image in blocks of 16, each block's plane position-major with its 16 channels side by side,
// x[((n · blocks + b) · positions + p) · 16 + lane] for channel 16 · b + lane. Lanes past the
// last channel hold zeros (or, after an activation, f(0): always finite).
#ifndef GC_BLOCKED_H
#define GC_BLOCKED_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Channels per block: one vector.
#define GC_BLOCKED_LANES 16
/// Output positions per microkernel tile at most.
#define GC_BLOCKED_POINTWISE_MR 7
/// Output positions per tile of 4 output blocks at most: 24 accumulators, which with the 4
/// weight vectors and a broadcast fit the 32 vector registers (7 positions would spill 3
/// accumulators on every k).
#define GC_BLOCKED_WIDE_MR 6
/// Output blocks per pointwise weight panel (64 channels).
#define GC_BLOCKED_POINTWISE_BLOCKS 4

/// One call of `gc_blocked_pointwise`: a 1×1 convolution of stride 1 (a channel mix), output
/// blocks [0, blocks) of a panel at positions [p_begin, p_end) of one image.
typedef struct gc_blocked_pointwise_args {
  /// The image's input at block 0, position 0.
  const float *x;
  /// Floats from one block to the next in x (and in y unless y_block_stride is set):
  /// positions · 16.
  int64_t block_stride;
  /// Floats from one block to the next in y, or 0: block_stride. A pass that reads or
  /// writes a band of rows held apart from the whole plane sets it.
  int64_t y_block_stride;
  /// Input blocks summed.
  int64_t in_blocks;
  /// Lanes of the last input block summed (1...16): those that hold input channels. The
  /// rows of the others are zero; skipping them saves their multiply-adds (24 input
  /// channels: a quarter of them).
  int32_t last_lanes;
  /// The panel: w[k · 64 + channel] for k = 16 · input block + lane, zeros past the channels.
  const float *w;
  /// 64 floats: the panel's bias, zeros past the channels.
  const float *bias;
  /// The image's output at the panel's first block, position 0.
  float *y;
  int64_t p_begin, p_end;
  /// Output blocks of the panel computed (1...4).
  int32_t blocks;
  /// Add the value y already holds (a residual) to the sums.
  int32_t add;
  /// Clamp bounds (ReLU, clip) or NULL; then an activation (a gc_activation_kind, or -1).
  const float *clamp;
  int32_t activation;
  /// The weights the next call reads, rows of 64 floats, fetched into L2 while this call's
  /// tiles reuse its own; or NULL.
  const float *next_w;
  /// Rows of next_w fetched: at most as many as this call sums (in_blocks · 16), and never
  /// past the end of the weights (a fetch from an unmapped page costs a page walk each time).
  int64_t next_rows;
} gc_blocked_pointwise_args;

void gc_blocked_pointwise(const gc_blocked_pointwise_args *args);

/// One call of `gc_blocked_dense`: a dense 2-D convolution of any kernel, stride, dilation
/// and zeros padding, output blocks [0, blocks) of a panel at n (1...7) consecutive
/// positions of one output row, reading its input rows from a blocked stage
/// (`gc_blocked_stage`) or, for few input channels, from plain planes.
typedef struct gc_blocked_dense_args {
  /// Input value of input block b, kernel row ky, column j and lane l:
  /// source[b · block_stride_in + ky · row_stride + j · column_stride + l · lane_stride],
  /// for b < blocks_in, ky < kernel_h, lanes l < lanes (the block's channels) and the column
  /// j = i · stride_w + kx · dilation_w of output position i and kernel column kx. A stage:
  /// block_stride_in = kernel_h · row_stride, row_stride = columns · 16, column_stride = 16,
  /// lane_stride = 1, lanes = 16; the blocked input itself: block_stride_in = height ·
  /// width · 16, row_stride = dilation_h · width · 16, column_stride = 16, lane_stride = 1,
  /// lanes = 16; plain planes (one block): row_stride = dilation_h · width,
  /// column_stride = 1, lane_stride = height · width.
  const float *source;
  int64_t blocks_in, kernel_h, block_stride_in, row_stride, column_stride, lane_stride;
  int32_t lanes;
  int64_t kernel_w, stride_w, dilation_w;
  /// The panel: w[((r · kernel_w + kx) · lanes + lane) · 64 + channel].
  const float *w;
  /// 64 floats: the panel's bias.
  const float *bias;
  /// The output at the panel's first block and the first position; floats between blocks.
  float *y;
  int64_t block_stride;
  int32_t n, blocks;
  /// As in `gc_blocked_pointwise_args`.
  int32_t add;
  const float *clamp;
  int32_t activation;
} gc_blocked_dense_args;

void gc_blocked_dense(const gc_blocked_dense_args *args);

/// Copies the input rows that output positions read into `stage` (laid out as the
/// `gc_blocked_dense_args` stage), zeros where they fall outside the input: for every input
/// block, kernel row ky (input row row0 + ky · dilation_h) and column j < columns (input
/// column column0 + j). x: one blocked image, [in_blocks, in_h, in_w, 16]. With `planes`,
/// x is one plain image of in_blocks ≤ 16 channels instead, [in_blocks, in_h, in_w], staged
/// as one block whose lanes are its channels (the stage's lane pitch stays 16).
void gc_blocked_stage(
  const float *x, int64_t in_blocks, int64_t in_h, int64_t in_w, int64_t row0,
  int64_t kernel_h, int64_t dilation_h, int64_t column0, int64_t columns, int32_t planes,
  float *stage);

/// One call of `gc_blocked_max_pool`: max pooling of one block's plane, output rows
/// [row_begin, row_end), each window clipped to the input. The max ignores NaN inputs and
/// is at least -FLT_MAX, as `gc_pooling_plane`'s.
typedef struct gc_blocked_max_pool_args {
  const float *x;
  float *y;
  int64_t in_h, in_w, out_w;
  int64_t row_begin, row_end;
  int64_t kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
} gc_blocked_max_pool_args;

void gc_blocked_max_pool(const gc_blocked_max_pool_args *args);

/// One call of `gc_blocked_depthwise`: a grouped 2-D convolution whose groups each have
/// `group_width` input and output channels, 1 (depthwise: one filter per channel), 2, 4, 8
/// or a multiple of 16, of one output block of 16 channels, output rows [row_begin, row_end),
/// zeros padding. Output channel 16 · b + lane reads the group_width channels of its group:
/// lanes of its own block (width up to 16) or whole blocks (width 16 · m).
typedef struct gc_blocked_depthwise_args {
  /// The input plane [in_h, in_w, 16] of the group's first block (the output's own block
  /// when group_width ≤ 16); the block's output plane [out_h, out_w, 16].
  const float *x;
  float *y;
  int64_t in_h, in_w, out_w;
  int64_t row_begin, row_end;
  /// The block's filters w[((ky · kernel_w + kx) · group_width + j) · 16 + lane] for the
  /// group's channel j, and bias[16].
  const float *w;
  const float *bias;
  int64_t kernel_h, kernel_w;
  int64_t stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
  /// Channels per group (see above).
  int32_t group_width;
  /// As in `gc_blocked_pointwise_args`.
  int32_t add;
  const float *clamp;
  int32_t activation;
} gc_blocked_depthwise_args;

void gc_blocked_depthwise(const gc_blocked_depthwise_args *args);

/// Channels [16 · block, +16) of one image's plain planes x[c · positions + p] into block
/// `block` of the blocked layout, positions [p_begin, p_end): zeros for channels ≥ channels.
void gc_blocked_from_planes(
  const float *x, float *y, int64_t channels, int64_t positions, int64_t block,
  int64_t p_begin, int64_t p_end);

/// The reverse: block `block` of one blocked image into the plain planes of its channels
/// below `channels`, positions [p_begin, p_end).
void gc_blocked_to_planes(
  const float *x, float *y, int64_t channels, int64_t positions, int64_t block,
  int64_t p_begin, int64_t p_end);

/// y[c · rows + r] = x[r · columns + c] · scale[c] + residual[c · rows + r] for rows
/// [r_begin, r_end) of one rows × columns matrix: a transpose, 16 × 16 at a time, with no
/// scale when `scale` is NULL and nothing added when `residual` is NULL. `residual` may be
/// `y` itself.
void gc_transpose(
  const float *x, float *y, int64_t rows, int64_t columns, int64_t r_begin, int64_t r_end,
  const float *scale, const float *residual);

/// y = x · gate for blocks [block_begin, block_end) of one blocked image of `positions`
/// positions per block: every position of block b multiplied lane by lane by
/// gate[16 b ..< 16 b + 16] (the gate padded to whole blocks).
void gc_blocked_gate(
  const float *x, const float *gate, float *y, int64_t positions, int64_t block_begin,
  int64_t block_end);

/// y[i] = f(clamp(y[i] + partial[i])) for i in [begin, end), whole vectors (multiples of 16):
/// the sums of a pass whose K was shared by threads, finished. clamp: bounds or NULL;
/// activation: a gc_activation_kind, or -1.
void gc_blocked_add_finish(
  float *y, const float *partial, int64_t begin, int64_t end, const float *clamp,
  int32_t activation);

/// y[c] = the mean over the positions of block `block` of one blocked image, for its
/// channels c below `channels` (y: the image's plain output, one value per channel).
void gc_blocked_mean(
  const float *x, float *y, int64_t channels, int64_t positions, int64_t block);

#ifdef __cplusplus
}
#endif

#endif
