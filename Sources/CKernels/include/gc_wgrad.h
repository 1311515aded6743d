// Weight-gradient microkernels for depthwise and few-channel grouped convolution (NCDHW).
//
// For one sample and one group the weight gradient is
//
//     dw[o, i, t] = sum over positions p of  dy[o, p] * x[i, p * stride + t * dilation - pad]
//
// The kernels never index x through the stride: both tensors are first copied ("staged")
// into a layout where every tap t reads x at a constant offset from the output position.
//
// * x is split into phase planes, one per (z, y, x) remainder of the padded coordinate
//   modulo the stride that some tap reads: plane r holds xp[j * stride + r] with zeros
//   outside x. A tap then reads plane r_t at j = p + (t * dilation) / stride.
// * Every staged row, of x planes and of dy alike, is `row_width` floats wide (dy's extra
//   columns are zero), and a 3-D plane is `phase_height` rows per depth slice (dy's extra
//   rows are zero). The output positions flatten to q = row * row_width + column, and tap t
//   reads the staged x at q + tap_offset[t]: a unit-stride correlation over q, vectorised
//   16 positions at a time with one accumulator per (output channel, tap).
#ifndef GC_WGRAD_H
#define GC_WGRAD_H

#ifdef __cplusplus
extern "C" {
#endif

/// The staged layout of one weight-gradient geometry, planned once (in Swift).
/// Extents are depth, height, width; 1-D and 2-D geometries have leading extents of 1.
typedef struct gc_wgrad_plan {
  long x_size[3];      // x plane of one (sample, channel)
  long y_size[3];      // dy plane of one (sample, channel)
  long stride[3];
  long pad[3];         // padding before the first element
  long x_per_group;    // input channels of a group, 1...8
  long y_per_group;    // output channels of a group
  long phase_depth;    // depth slices of a phase plane
  long phase_height;   // rows per depth slice of a phase plane and of staged dy
  long row_width;      // floats per staged row
  long phases;         // phase planes per input channel
  const long *phase;   // [phases][6]: the (z, y, x) remainder a phase plane holds; its
                       // first column with data, their count; x column of column 0
  long taps;           // kernel depth * height * width, in dw's order
  const long *tap_offset;  // [taps]: phase * phase_stride + row offset * row_width + column
  long halo_rows;      // the largest row offset of a tap: extra x rows a block of rows reads
  long block_rows;     // staged rows per block, sized for L1
  long phase_stride;   // floats per staged phase window: (block + halo) rows and zero slack
  long dy_stride;      // floats per staged dy channel window: block rows and zero slack
} gc_wgrad_plan;

/// Floats of scratch `gc_wgrad_accumulate` needs: staged x and staged dy windows.
long gc_wgrad_scratch_count(const gc_wgrad_plan *plan);

/// Adds one sample's contribution from flattened dy rows [row_begin, row_end) to `acc`, for
/// `groups` consecutive groups. A flattened row is (output depth, row < phase_height); rows
/// at or past the output height are zero and may be included.
/// dy: the first group's first output channel of the sample, `y_per_group` planes a group.
/// x: the first group's first input channel of the sample, `x_per_group` planes a group.
/// acc: [groups][y_per_group][x_per_group][taps][16] partial sums, 64-byte aligned.
/// bias: NULL, or [groups][y_per_group][16] partial sums of dy, added to.
/// scratch: `gc_wgrad_scratch_count` floats, 64-byte aligned, all zero the first time it is
/// used and afterwards used only with this plan: staging never writes the columns that must
/// be zero, so they stay zero from call to call.
void gc_wgrad_accumulate(
  const gc_wgrad_plan *plan, const float *dy, const float *x, long groups, long row_begin,
  long row_end, float *acc, float *bias, float *scratch);

// MARK: - Lanes: 16 groups side by side
//
// With many groups, per-channel row copies and horizontal sums cost more than they should,
// and on small planes more than the multiply-adds. The lane kernel transposes 16 groups at
// a time (16 x 16 transposes) so that each vector holds one position of 16 groups: dy^T[o][p]
// and the zero-padded x^T[i][position]. Output p of row r reads padded position
// row_base[r] + column * step + tap_offset[t], and every (o, i, t) sum is a vector whose
// lanes are the 16 groups' dw[o, i, t]: no staging per channel, no horizontal sums.
// 1-D and 2-D planes are processed in bands of output rows, each with its window of padded
// x rows; a 3-D plane is one band.

typedef struct gc_wgrad_lanes_plan {
  long x_plane;            // x elements per (sample, channel)
  long y_plane;            // dy elements per (sample, channel)
  long x_per_group;        // input channels of a group, 1...8
  long y_per_group;        // output channels of a group
  const long *x_position;  // [x_plane]: the padded position of each x element
  long rows;               // output rows (output depth * height)
  const long *row_base;    // [rows]: the padded position tap 0 of the row's first output reads
  long row_length;         // outputs per row (output width)
  long step;               // padded positions between neighbouring outputs of a row
  long taps;
  const long *tap_offset;  // [taps]: each tap's padded offset in floats (16 a position)
  long band_rows;          // output rows per band (all rows for a 3-D plane)
  long window;             // positions of a band's x^T window, per input channel
  long window_rows;        // padded rows of a full band's window (2-D)
  long x_rows;             // x height (2-D)
  long x_row_length;       // x width
  long padded_width;       // padded x width
  long pad_top;            // padding rows above x
  long pad_left;           // padding columns left of x
  long row_stride;         // padded rows between output rows (the height stride)
  long chunk_rows;         // output rows the kernels take at a time, sized for L1
} gc_wgrad_lanes_plan;

/// Floats of scratch `gc_wgrad_lanes_accumulate` needs: a band's dy^T and x^T window.
long gc_wgrad_lanes_scratch_count(const gc_wgrad_lanes_plan *plan);

/// Adds one sample's contribution of `lanes` (1...16) consecutive groups and output rows
/// [row_begin, row_end) to `acc`: at most `band_rows` rows, or when `band_rows` is `rows`
/// (one band: always for a 3-D plane), all of them.
/// dy, x: the first group's first output / input channel of the sample.
/// acc: [y_per_group][x_per_group][taps][16] sums, lane l for group l, 64-byte aligned.
/// bias: NULL, or [y_per_group][16] sums of dy, added to.
/// scratch: `gc_wgrad_lanes_scratch_count` floats, 64-byte aligned, all zero at first use
/// and afterwards used only with this plan (padding columns are never written).
void gc_wgrad_lanes_accumulate(
  const gc_wgrad_lanes_plan *plan, const float *dy, const float *x, long lanes, long row_begin,
  long row_end, float *acc, float *bias, float *scratch);

/// dst[l * sums + j] = acc[j * 16 + l] for lanes l < `lanes` (1...16) and j < `sums`:
/// the lane sums written out as `lanes` consecutive groups' dw (or db).
void gc_wgrad_lanes_store(const float *acc, long sums, long lanes, float *dst);

/// dw[j] = (or +=, when `accumulate`) the sum of the 16 floats acc[j * 16 ...], j < count.
void gc_wgrad_reduce(const float *acc, long count, float *dw, int accumulate);

#ifdef __cplusplus
}
#endif

#endif
