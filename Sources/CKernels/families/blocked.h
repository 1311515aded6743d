// Convolutions in the channel-blocked layout (see include/gc_blocked.h): every load and store
// is a whole vector of 16 channels at one position, so no lane is wasted at a plane's edge
// and no output needs transposing.
// Included once per instruction set with GC_ISA defined; GC_VECTOR_AVX512 selects gathers for
// the layout changes.
#include "gc_blocked.h"
#include "activation_math.h"
#include <float.h>

#ifndef GC_BLOCKED_FAMILY_HELPERS
#define GC_BLOCKED_FAMILY_HELPERS
/// Cuts `count` items into `tiles` tiles as even as they go: tile t ends at item
/// count · (t + 1) / tiles. `next` gives each tile's length in turn without a division: a
/// 64-bit division's latency would hold up the loads of the tile whose addresses depend on
/// it (for a 3 × 3 depthwise tile, about as long as its work).
typedef struct gc_even_tiles {
  int64_t tiles, narrow, extra;
  /// count · t mod tiles, for the next tile t.
  int64_t carry;
} gc_even_tiles;

static inline gc_even_tiles gc_even_tiles_make(int64_t count, int64_t tiles) {
  const int64_t narrow = count / tiles;
  return (gc_even_tiles){tiles, narrow, count - narrow * tiles, 0};
}

static inline int gc_even_tiles_next(gc_even_tiles *e) {
  e->carry += e->extra;
  const int wide = e->carry >= e->tiles;
  if (wide) e->carry -= e->tiles;
  return (int)e->narrow + wide;
}

/// A tile's accumulators for positions i < n and output blocks j < nv: the bias, plus what
/// y holds (a residual, or the sums of earlier K slices) when `add`. y: the tile's first
/// output, blocks `block_stride` floats apart.
static inline __attribute__((always_inline)) void gc_blocked_tile_start(
  const int n, const int nv, gc_v16 acc[GC_BLOCKED_POINTWISE_MR][GC_BLOCKED_POINTWISE_BLOCKS],
  const float *bias, const float *y, int64_t block_stride, int add) {
#pragma clang loop unroll(full)
  for (int i = 0; i < GC_BLOCKED_POINTWISE_MR; i++) {
#pragma clang loop unroll(full)
    for (int j = 0; j < GC_BLOCKED_POINTWISE_BLOCKS; j++) {
      if (i >= n || j >= nv) continue;
      acc[i][j] = gc_load(bias + 16 * j);
      if (add) acc[i][j] += gc_load(y + j * block_stride + i * 16);
    }
  }
}

#endif

/// The activation over `runs` runs of `run` vectors of y, `stride` floats apart, in place:
/// one copy of its loops, not one in every tile shape's kernel.
static __attribute__((noinline)) void GC_ISA(blocked_activate)(
  int activation, float *y, int64_t stride, int64_t runs, int64_t run) {
  act_runs(activation, y, y, stride, runs, run);
}

/// The tile's accumulators, clamped and activated, stored to y. The activation runs over
/// the stored tile (still in L1), its vectors interleaved (see act_runs).
static inline __attribute__((always_inline)) void GC_ISA(blocked_tile_store)(
  const int n, const int nv, gc_v16 acc[GC_BLOCKED_POINTWISE_MR][GC_BLOCKED_POINTWISE_BLOCKS],
  float *y, int64_t block_stride, const float *clamp, int activation) {
#pragma clang loop unroll(full)
  for (int i = 0; i < GC_BLOCKED_POINTWISE_MR; i++) {
#pragma clang loop unroll(full)
    for (int j = 0; j < GC_BLOCKED_POINTWISE_BLOCKS; j++)
      if (i < n && j < nv)
        gc_store(y + j * block_stride + i * 16, clamp ? gc_clamp(acc[i][j], clamp) : acc[i][j]);
  }
  if (activation >= 0) GC_ISA(blocked_activate)(activation, y, block_stride, nv, n);
}

// MARK: - Pointwise

/// acc[i][j] = bias (+ y) + sum over k of x[position p + i, k] * w[k, 16 j ...] for positions
/// i < mr and output blocks j < nv, finished and stored to y.
/// Tile `tile` of a call fetches two of the four cache lines of each row of `next_w` (if
/// any), so that two tiles fetch them all.
static inline __attribute__((always_inline)) void GC_ISA(blocked_pointwise_kernel)(
  const int mr, const int nv, const gc_blocked_pointwise_args *g, int64_t p, int64_t tile) {
  const int64_t bs = g->block_stride, ys = g->y_block_stride ? g->y_block_stride : bs;
  gc_v16 acc[GC_BLOCKED_POINTWISE_MR][GC_BLOCKED_POINTWISE_BLOCKS];
  float *y = g->y + p * 16;
  gc_blocked_tile_start(mr, nv, acc, g->bias, y, ys, g->add);
  const float *xb = g->x + p * 16;
  const float *w = g->w;
  const float *next = g->next_w && tile < 2 ? g->next_w + (tile & 1) * 32 : NULL;
  const float *next_end = next ? next + g->next_rows * 64 : NULL;
  for (int64_t b = 0; b < g->in_blocks; b++, xb += bs) {
    const int lanes = b == g->in_blocks - 1 ? g->last_lanes : 16;
    for (int lane = 0; lane < lanes; lane++, w += 64) {
      if (next < next_end) {
        __builtin_prefetch(next, 0, 2);
        __builtin_prefetch(next + 16, 0, 2);
        next += 64;
      }
      gc_v16 wv[GC_BLOCKED_POINTWISE_BLOCKS];
#pragma clang loop unroll(full)
      for (int j = 0; j < GC_BLOCKED_POINTWISE_BLOCKS; j++)
        wv[j] = j < nv ? gc_load(w + 16 * j) : gc_splat(0);
#pragma clang loop unroll(full)
      for (int i = 0; i < GC_BLOCKED_POINTWISE_MR; i++) {
        if (i >= mr) continue;
        gc_v16 v = gc_broadcast(xb + i * 16 + lane);
#pragma clang loop unroll(full)
        for (int j = 0; j < GC_BLOCKED_POINTWISE_BLOCKS; j++)
          if (j < nv) acc[i][j] += v * wv[j];
      }
    }
  }
  GC_ISA(blocked_tile_store)(mr, nv, acc, y, ys, g->clamp, g->activation);
}

#define GC_BLOCKED_POINTWISE_CASE(MR, NV) \
  case (MR) * 8 + (NV): GC_ISA(blocked_pointwise_kernel)(MR, NV, g, p, tile); break;
#define GC_BLOCKED_POINTWISE_CASES(MR)                              \
  GC_BLOCKED_POINTWISE_CASE(MR, 1) GC_BLOCKED_POINTWISE_CASE(MR, 2) \
  GC_BLOCKED_POINTWISE_CASE(MR, 3) GC_BLOCKED_POINTWISE_CASE(MR, 4)

void GC_ISA(gc_blocked_pointwise)(const gc_blocked_pointwise_args *g) {
  // The fewest tiles that cover the positions, as even as possible (49 positions: 7 of 7,
  // 25: 7, 6, 6, 6; of 4 blocks, 49: 9 of 5 or 6), so that a range of any length costs
  // about its length.
  const int64_t count = g->p_end - g->p_begin;
  const int64_t most =
    g->blocks == GC_BLOCKED_POINTWISE_BLOCKS ? GC_BLOCKED_WIDE_MR : GC_BLOCKED_POINTWISE_MR;
  if (count <= 0) return;
  gc_even_tiles even = gc_even_tiles_make(count, (count + most - 1) / most);
  for (int64_t tile = 0, next = g->p_begin; tile < even.tiles; tile++) {
    const int64_t p = next;
    const int mr = gc_even_tiles_next(&even);
    next += mr;
    switch (mr * 8 + g->blocks) {
      GC_BLOCKED_POINTWISE_CASE(7, 1)
      GC_BLOCKED_POINTWISE_CASE(7, 2)
      GC_BLOCKED_POINTWISE_CASE(7, 3)
      GC_BLOCKED_POINTWISE_CASES(6)
      GC_BLOCKED_POINTWISE_CASES(5)
      GC_BLOCKED_POINTWISE_CASES(4)
      GC_BLOCKED_POINTWISE_CASES(3)
      GC_BLOCKED_POINTWISE_CASES(2)
      GC_BLOCKED_POINTWISE_CASES(1)
      default: break;
    }
  }
}
#undef GC_BLOCKED_POINTWISE_CASES
#undef GC_BLOCKED_POINTWISE_CASE

// MARK: - Dense

/// acc[i][j] = bias (+ y) + sum over (row, kx, lane) of the source at position i's column *
/// w[k, 16 j ...] for positions i < n and output blocks j < nv, finished and stored. Unless
/// `planes`, the source is blocked, a stage or the input itself (column stride 16, lane
/// stride 1, 16 lanes) known at compile time.
static inline __attribute__((always_inline)) void GC_ISA(blocked_dense_kernel)(
  const int n, const int nv, const int planes, const gc_blocked_dense_args *g) {
  gc_v16 acc[GC_BLOCKED_POINTWISE_MR][GC_BLOCKED_POINTWISE_BLOCKS];
  gc_blocked_tile_start(n, nv, acc, g->bias, g->y, g->block_stride, g->add);
  const int64_t column_stride = planes ? g->column_stride : 16;
  const int64_t lane_stride = planes ? g->lane_stride : 1;
  const int lanes = planes ? g->lanes : 16;
  const int64_t step = g->stride_w * column_stride;
  const float *w = g->w;
  for (int64_t r = 0, b = 0, ky = 0; r < g->blocks_in * g->kernel_h; r++) {
    const float *row = g->source + b * g->block_stride_in + ky * g->row_stride;
    if (++ky == g->kernel_h) {
      ky = 0;
      b++;
    }
    for (int64_t kx = 0; kx < g->kernel_w; kx++) {
      const float *src = row + kx * g->dilation_w * column_stride;
      const float *at[GC_BLOCKED_POINTWISE_MR];
#pragma clang loop unroll(full)
      for (int i = 0; i < GC_BLOCKED_POINTWISE_MR; i++) at[i] = src + (i < n ? i : 0) * step;
      for (int lane = 0; lane < lanes; lane++, w += 64) {
        gc_v16 wv[GC_BLOCKED_POINTWISE_BLOCKS];
#pragma clang loop unroll(full)
        for (int j = 0; j < GC_BLOCKED_POINTWISE_BLOCKS; j++)
          wv[j] = j < nv ? gc_load(w + 16 * j) : gc_splat(0);
#pragma clang loop unroll(full)
        for (int i = 0; i < GC_BLOCKED_POINTWISE_MR; i++) {
          if (i >= n) continue;
          gc_v16 v = gc_broadcast(at[i] + lane * lane_stride);
#pragma clang loop unroll(full)
          for (int j = 0; j < GC_BLOCKED_POINTWISE_BLOCKS; j++)
            if (j < nv) acc[i][j] += v * wv[j];
        }
      }
    }
  }
  GC_ISA(blocked_tile_store)(n, nv, acc, g->y, g->block_stride, g->clamp, g->activation);
}

#define GC_BLOCKED_DENSE_CASE(MR, NV)                                                  \
  case (MR) * 8 + (NV):                                                              \
    if (planes)                                                                      \
      GC_ISA(blocked_dense_kernel)(MR, NV, 1, g);                                     \
    else                                                                             \
      GC_ISA(blocked_dense_kernel)(MR, NV, 0, g);                                     \
    break;
#define GC_BLOCKED_DENSE_CASES(MR)                                                     \
  GC_BLOCKED_DENSE_CASE(MR, 1) GC_BLOCKED_DENSE_CASE(MR, 2) GC_BLOCKED_DENSE_CASE(MR, 3) \
  GC_BLOCKED_DENSE_CASE(MR, 4)

void GC_ISA(gc_blocked_dense)(const gc_blocked_dense_args *g) {
  const int planes = g->column_stride != 16 || g->lane_stride != 1 || g->lanes != 16;
#if defined(GC_VECTOR_AVX2)
  if (g->blocks > 1) {
    gc_blocked_dense_args one = *g;
    one.blocks = 1;
    for (int32_t j = 0; j < g->blocks; j++) {
      one.w = g->w + 16 * j;
      one.bias = g->bias + 16 * j;
      one.y = g->y + j * g->block_stride;
      GC_ISA(gc_blocked_dense)(&one);
    }
    return;
  }
#endif
  switch (g->n * 8 + g->blocks) {
    GC_BLOCKED_DENSE_CASES(7)
    GC_BLOCKED_DENSE_CASES(6)
    GC_BLOCKED_DENSE_CASES(5)
    GC_BLOCKED_DENSE_CASES(4)
    GC_BLOCKED_DENSE_CASES(3)
    GC_BLOCKED_DENSE_CASES(2)
    GC_BLOCKED_DENSE_CASES(1)
    default: break;
  }
}
#undef GC_BLOCKED_DENSE_CASES
#undef GC_BLOCKED_DENSE_CASE

void GC_ISA(gc_blocked_stage)(
  const float *x, int64_t in_blocks, int64_t in_h, int64_t in_w, int64_t row0,
  int64_t kernel_h, int64_t dilation_h, int64_t column0, int64_t columns, int32_t planes,
  float *stage) {
  // The staged columns inside the input: [lo, hi).
  int64_t lo = column0 < 0 ? -column0 : 0;
  int64_t hi = in_w - column0 < columns ? in_w - column0 : columns;
  if (hi < lo) hi = lo;
  const int64_t blocks = planes ? 1 : in_blocks;
  for (int64_t b = 0; b < blocks; b++) {
    for (int64_t ky = 0; ky < kernel_h; ky++) {
      float *out = stage + (b * kernel_h + ky) * columns * 16;
      const int64_t r = row0 + ky * dilation_h;
      if (r < 0 || r >= in_h) {
        for (int64_t j = 0; j < columns; j++) gc_store(out + j * 16, gc_splat(0));
        continue;
      }
      for (int64_t j = 0; j < lo; j++) gc_store(out + j * 16, gc_splat(0));
      for (int64_t j = hi; j < columns; j++) gc_store(out + j * 16, gc_splat(0));
      if (planes) {
        // Channel c of column j into lane c.
        for (int64_t j = lo; j < hi; j++) {
          float lanes[16] = {0};
          for (int64_t c = 0; c < in_blocks; c++)
            lanes[c] = x[(c * in_h + r) * in_w + column0 + j];
          gc_store(out + j * 16, gc_load(lanes));
        }
        continue;
      }
      const float *in = x + ((b * in_h + r) * in_w + column0) * 16;
      for (int64_t j = lo; j < hi; j++) gc_store(out + j * 16, gc_load(in + j * 16));
    }
  }
}

// MARK: - Max pooling

/// The maximum of a 3 × 3 window inside the input (no dilation) at `at`, rows `row` floats
/// apart, taken in the order of the general loop (a NaN skipped alike), unrolled: no loop
/// bounds to find and no branches, so the windows of consecutive outputs overlap in flight.
static inline __attribute__((always_inline)) gc_v16 GC_ISA(blocked_max3x3)(
  const float *at, int64_t row) {
  gc_v16 acc = gc_splat(-FLT_MAX);
#pragma clang loop unroll(full)
  for (int ky = 0; ky < 3; ky++)
#pragma clang loop unroll(full)
    for (int kx = 0; kx < 3; kx++) acc = gc_max(gc_load(at + ky * row + kx * 16), acc);
  return acc;
}

void GC_ISA(gc_blocked_max_pool)(const gc_blocked_max_pool_args *g) {
  const int three = g->kernel_h == 3 && g->kernel_w == 3 && g->dilation_h == 1 && g->dilation_w == 1;
  for (int64_t oy = g->row_begin; oy < g->row_end; oy++) {
    const int64_t y0 = oy * g->stride_h - g->pad_top;
    int64_t ky_lo = 0, ky_hi = g->kernel_h;
    while (ky_lo < ky_hi && y0 + ky_lo * g->dilation_h < 0) ky_lo++;
    while (ky_hi > ky_lo && y0 + (ky_hi - 1) * g->dilation_h >= g->in_h) ky_hi--;
    const int rows_inside = three && ky_lo == 0 && ky_hi == 3;
    for (int64_t ox = 0; ox < g->out_w; ox++) {
      const int64_t x0 = ox * g->stride_w - g->pad_left;
      if (rows_inside && x0 >= 0 && x0 + 3 <= g->in_w) {
        gc_store(g->y + (oy * g->out_w + ox) * 16,
                 GC_ISA(blocked_max3x3)(g->x + (y0 * g->in_w + x0) * 16, g->in_w * 16));
        continue;
      }
      int64_t kx_lo = 0, kx_hi = g->kernel_w;
      while (kx_lo < kx_hi && x0 + kx_lo * g->dilation_w < 0) kx_lo++;
      while (kx_hi > kx_lo && x0 + (kx_hi - 1) * g->dilation_w >= g->in_w) kx_hi--;
      gc_v16 acc = gc_splat(-FLT_MAX);
      for (int64_t ky = ky_lo; ky < ky_hi; ky++) {
        const float *row = g->x + ((y0 + ky * g->dilation_h) * g->in_w + x0) * 16;
        for (int64_t kx = kx_lo; kx < kx_hi; kx++)
          acc = gc_max(gc_load(row + kx * g->dilation_w * 16), acc);
      }
      gc_store(g->y + (oy * g->out_w + ox) * 16, acc);
    }
  }
}

// MARK: - Depthwise and grouped

/// Outputs per step along a depthwise row.
#define GC_BLOCKED_DEPTHWISE_TILE 8

/// How a tile reads channel j of each lane's group at an input column: the column's vector
/// itself (depthwise), its lanes permuted within the block (groups of 2, 4 or 8), or
/// channel j broadcast (groups of 16 · m, whole blocks).
enum { GC_BLOCKED_PICK_LOAD, GC_BLOCKED_PICK_PERMUTE, GC_BLOCKED_PICK_BROADCAST };

/// The pick mode of a group width.
static inline int gc_blocked_pick_mode(int width) {
  return width == 1 ? GC_BLOCKED_PICK_LOAD
    : width < 16    ? GC_BLOCKED_PICK_PERMUTE
                    : GC_BLOCKED_PICK_BROADCAST;
}

/// Channel j of each lane's group at one input column (`column`: the column in the group's
/// first block, blocks `plane` floats apart). `first`: per lane, its group's first lane
/// (permute mode).
static inline __attribute__((always_inline)) gc_v16 GC_ISA(blocked_pick)(
  const float *column, int j, int mode, const int32_t first[16], int64_t plane) {
  if (mode == GC_BLOCKED_PICK_LOAD) return gc_load(column);
  if (mode == GC_BLOCKED_PICK_BROADCAST)
    return gc_broadcast(column + (j >> 4) * plane + (j & 15));
  const gc_v16 v = gc_load(column);
#if defined(GC_VECTOR_AVX512)
  const __m512i index = _mm512_add_epi32(_mm512_loadu_si512(first), _mm512_set1_epi32(j));
  return (gc_v16)_mm512_permutexvar_ps(index, (__m512)v);
#else
  gc_v16 picked;
  for (int l = 0; l < 16; l++) picked[l] = v[first[l] + j];
  return picked;
#endif
}

/// Per lane, the first lane of its group of `width` (a power of two up to 16).
static inline void gc_blocked_group_firsts(int width, int32_t first[16]) {
  for (int l = 0; l < 16; l++) first[l] = width < 16 ? l & ~(width - 1) : 0;
}

/// Output columns [ox, ox + n) of a row over kernel rows [ky_lo, ky_hi), with the kernel
/// width k, stride s, tile width n and pick mode known at compile time and dilation 1: per
/// kernel row and channel of the group, each input column is picked once and used by every
/// output that reads it. With `checked`, columns outside the input are skipped (no memory
/// there is touched).
static inline __attribute__((always_inline)) void GC_ISA(blocked_depthwise_fixed)(
  const int k, const int s, const int n, const int checked, const int mode,
  const gc_blocked_depthwise_args *g, const float *top, int64_t ky_lo, int64_t ky_hi,
  int64_t ox, float *yrow) {
  const int width = mode == GC_BLOCKED_PICK_LOAD ? 1 : g->group_width;
  const int64_t plane = g->in_h * g->in_w * 16;
  int32_t first[16];
  gc_blocked_group_firsts(width, first);
  gc_v16 acc[GC_BLOCKED_DEPTHWISE_TILE];
  const gc_v16 bias = gc_load(g->bias);
#pragma clang loop unroll(full)
  for (int i = 0; i < GC_BLOCKED_DEPTHWISE_TILE; i++) {
    if (i >= n) continue;
    acc[i] = g->add ? bias + gc_load(yrow + (ox + i) * 16) : bias;
  }
  const int64_t x0 = ox * s - g->pad_left;
  const float *start = top + x0 * 16;
  for (int64_t ky = ky_lo; ky < ky_hi; ky++) {
    const float *row = start + ky * g->dilation_h * g->in_w * 16;
    const float *w = g->w + ky * k * width * 16;
#pragma clang loop unroll(disable)
    for (int j = 0; j < width; j++) {
      gc_v16 wv[7];
#pragma clang loop unroll(full)
      for (int kx = 0; kx < 7; kx++)
        if (kx < k) wv[kx] = gc_load(w + (kx * width + j) * 16);
#pragma clang loop unroll(full)
      for (int c = 0; c < (GC_BLOCKED_DEPTHWISE_TILE - 1) * 2 + 7; c++) {
        if (c >= (n - 1) * s + k) continue;
        if (checked && (x0 + c < 0 || x0 + c >= g->in_w)) continue;
        const gc_v16 v = GC_ISA(blocked_pick)(row + c * 16, j, mode, first, plane);
#pragma clang loop unroll(full)
        for (int kx = 0; kx < 7; kx++) {
          if (kx >= k || c < kx || (c - kx) % s != 0 || (c - kx) / s >= n) continue;
          acc[(c - kx) / s] += wv[kx] * v;
        }
      }
    }
  }
#pragma clang loop unroll(full)
  for (int i = 0; i < GC_BLOCKED_DEPTHWISE_TILE; i++) {
    if (i >= n) continue;
    gc_v16 out = acc[i];
    if (g->clamp) out = gc_clamp(out, g->clamp);
    gc_store(yrow + (ox + i) * 16, out);
  }
}

/// One output column, any kernel width, stride, dilation and group width: its kernel
/// columns inside the input only.
static void GC_ISA(blocked_depthwise_column)(
  const gc_blocked_depthwise_args *g, const float *top, int64_t ky_lo, int64_t ky_hi,
  int64_t ox, float *yrow) {
  const int width = g->group_width, mode = gc_blocked_pick_mode(width);
  const int64_t plane = g->in_h * g->in_w * 16;
  int32_t first[16];
  gc_blocked_group_firsts(width, first);
  const int64_t x0 = ox * g->stride_w - g->pad_left;
  int64_t kx_lo = 0, kx_hi = g->kernel_w;
  while (kx_lo < kx_hi && x0 + kx_lo * g->dilation_w < 0) kx_lo++;
  while (kx_hi > kx_lo && x0 + (kx_hi - 1) * g->dilation_w >= g->in_w) kx_hi--;
  gc_v16 acc = gc_load(g->bias);
  if (g->add) acc += gc_load(yrow + ox * 16);
  for (int64_t ky = ky_lo; ky < ky_hi; ky++) {
    const float *row = top + (ky * g->dilation_h * g->in_w + x0) * 16;
    const float *w = g->w + ky * g->kernel_w * width * 16;
    for (int64_t kx = kx_lo; kx < kx_hi; kx++)
      for (int j = 0; j < width; j++)
        acc += gc_load(w + (kx * width + j) * 16)
          * GC_ISA(blocked_pick)(row + kx * g->dilation_w * 16, j, mode, first, plane);
  }
  if (g->clamp) acc = gc_clamp(acc, g->clamp);
  gc_store(yrow + ox * 16, acc);
}

/// A fixed-shape tile, as a function of its own: the tile kernels are chosen once per call
/// (see gc_blocked_depthwise) and called straight, not found through one switch per tile
/// (whose dispatch took about as long as a 3 × 3 tile's work).
typedef void (*GC_ISA(blocked_depthwise_tile_fn))(
  const gc_blocked_depthwise_args *g, const float *top, int64_t ky_lo, int64_t ky_hi,
  int64_t ox, float *yrow);

#define GC_BLOCKED_DW_NAME(M, K, S, N, C) GC_ISA(blocked_depthwise_##M##_##K##_##S##_##N##_##C)
#define GC_BLOCKED_DW_CASE(M, K, S, N, C)                                                    \
  static void GC_BLOCKED_DW_NAME(M, K, S, N, C)(                                             \
    const gc_blocked_depthwise_args *g, const float *top, int64_t ky_lo, int64_t ky_hi,      \
    int64_t ox, float *yrow) {                                                               \
    GC_ISA(blocked_depthwise_fixed)(K, S, N, C, M, g, top, ky_lo, ky_hi, ox, yrow);         \
  }
#define GC_BLOCKED_DW_WIDE(M, K, S, C)                                                       \
  GC_BLOCKED_DW_CASE(M, K, S, 4, C) GC_BLOCKED_DW_CASE(M, K, S, 5, C)                       \
  GC_BLOCKED_DW_CASE(M, K, S, 6, C) GC_BLOCKED_DW_CASE(M, K, S, 7, C)                       \
  GC_BLOCKED_DW_CASE(M, K, S, 8, C)
#define GC_BLOCKED_DW_ALL(M, K, S, C)                                                        \
  GC_BLOCKED_DW_CASE(M, K, S, 1, C) GC_BLOCKED_DW_CASE(M, K, S, 2, C)                       \
  GC_BLOCKED_DW_CASE(M, K, S, 3, C) GC_BLOCKED_DW_WIDE(M, K, S, C)
#define GC_BLOCKED_DW_KERNEL(K, S) \
  GC_BLOCKED_DW_ALL(GC_BLOCKED_PICK_LOAD, K, S, 0) GC_BLOCKED_DW_ALL(GC_BLOCKED_PICK_LOAD, K, S, 1)
#define GC_BLOCKED_GROUPED_KERNEL(M, K, S) \
  GC_BLOCKED_DW_WIDE(M, K, S, 0) GC_BLOCKED_DW_WIDE(M, K, S, 1)
#define GC_BLOCKED_DW_KERNELS                                                                \
  GC_BLOCKED_DW_KERNEL(3, 1)                                                                 \
  GC_BLOCKED_DW_KERNEL(3, 2)                                                                 \
  GC_BLOCKED_DW_KERNEL(5, 1)                                                                 \
  GC_BLOCKED_DW_KERNEL(5, 2)                                                                 \
  GC_BLOCKED_DW_KERNEL(7, 1)                                                                 \
  GC_BLOCKED_DW_KERNEL(7, 2)                                                                 \
  GC_BLOCKED_GROUPED_KERNEL(GC_BLOCKED_PICK_PERMUTE, 3, 1)                                   \
  GC_BLOCKED_GROUPED_KERNEL(GC_BLOCKED_PICK_PERMUTE, 3, 2)                                   \
  GC_BLOCKED_GROUPED_KERNEL(GC_BLOCKED_PICK_BROADCAST, 3, 1)                                 \
  GC_BLOCKED_GROUPED_KERNEL(GC_BLOCKED_PICK_BROADCAST, 3, 2)
GC_BLOCKED_DW_KERNELS
#undef GC_BLOCKED_DW_CASE

/// The fixed-shape tile for tiles of n columns, checked or not; NULL when none fits (a
/// dilation, stride other than 1, 2, kernel width other than 3, 5, 7 depthwise and 3
/// grouped, or a grouped tile narrower than 4).
static GC_ISA(blocked_depthwise_tile_fn) GC_ISA(blocked_depthwise_pick_tile)(
  const gc_blocked_depthwise_args *g, int n, int checked) {
  if (g->dilation_w != 1 || g->stride_w > 2 || g->kernel_w > 7) return 0;
#define GC_BLOCKED_DW_CASE(M, K, S, N, C)                                                    \
  case ((M) * 8 + (K)) * 128 + (S) * 32 + (N) * 2 + (C): return GC_BLOCKED_DW_NAME(M, K, S, N, C);
  switch (((gc_blocked_pick_mode(g->group_width) * 8 + g->kernel_w) * 128) + g->stride_w * 32
          + n * 2 + checked) {
    GC_BLOCKED_DW_KERNELS
    default: return 0;
  }
#undef GC_BLOCKED_DW_CASE
}
#undef GC_BLOCKED_DW_KERNELS
#undef GC_BLOCKED_GROUPED_KERNEL
#undef GC_BLOCKED_DW_KERNEL
#undef GC_BLOCKED_DW_ALL
#undef GC_BLOCKED_DW_WIDE
#undef GC_BLOCKED_DW_NAME

void GC_ISA(gc_blocked_depthwise)(const gc_blocked_depthwise_args *g) {
  const int64_t in_h = g->in_h, in_w = g->in_w, out_w = g->out_w;
  const int64_t sw = g->stride_w, reach = (g->kernel_w - 1) * g->dilation_w;
  // Interior columns: every kernel column inside the input.
  int64_t lo = (g->pad_left + sw - 1) / sw;
  int64_t hi = in_w - 1 - reach + g->pad_left < 0 ? 0 : (in_w - 1 - reach + g->pad_left) / sw + 1;
  if (hi > out_w) hi = out_w;
  if (lo > hi) lo = hi;
  if (out_w <= 0) return;
  // The row in tiles of up to 8 as even as they go (28: 7, 7, 7, 7; 14: 7, 7): of `narrow`
  // or narrow + 1 columns, whose kernels are picked here, once.
  const gc_even_tiles row_tiles = gc_even_tiles_make(
    out_w, (out_w + GC_BLOCKED_DEPTHWISE_TILE - 1) / GC_BLOCKED_DEPTHWISE_TILE);
  const int narrow = (int)row_tiles.narrow;
  GC_ISA(blocked_depthwise_tile_fn) kernel[2][2];
  for (int wide = 0; wide < 2; wide++)
    for (int checked = 0; checked < 2; checked++)
      kernel[wide][checked] = GC_ISA(blocked_depthwise_pick_tile)(g, narrow + wide, checked);
  for (int64_t oy = g->row_begin; oy < g->row_end; oy++) {
    const int64_t y0 = oy * g->stride_h - g->pad_top;
    int64_t ky_lo = 0, ky_hi = g->kernel_h;
    while (ky_lo < ky_hi && y0 + ky_lo * g->dilation_h < 0) ky_lo++;
    while (ky_hi > ky_lo && y0 + (ky_hi - 1) * g->dilation_h >= in_h) ky_hi--;
    // The input row of kernel row 0 (perhaps above the plane: only rows from ky_lo are read).
    const float *top = g->x + y0 * in_w * 16;
    float *yrow = g->y + oy * out_w * 16;
    gc_even_tiles even = row_tiles;
    for (int64_t t = 0, ox = 0; t < even.tiles; t++) {
      const int n = gc_even_tiles_next(&even);
      const int checked = ox < lo || ox + n > hi;
      const GC_ISA(blocked_depthwise_tile_fn) tile = kernel[n - narrow][checked];
      if (tile) tile(g, top, ky_lo, ky_hi, ox, yrow);
      else
        for (int i = 0; i < n; i++)
          GC_ISA(blocked_depthwise_column)(g, top, ky_lo, ky_hi, ox + i, yrow);
      ox += n;
    }
    if (g->activation >= 0) GC_ISA(blocked_activate)(g->activation, yrow, 0, 1, out_w);
  }
}

// MARK: - Layout changes


void GC_ISA(gc_blocked_from_planes)(
  const float *x, float *y, int64_t channels, int64_t positions, int64_t block, int64_t p_begin,
  int64_t p_end) {
  const int64_t c0 = block * 16;
  const int64_t lanes = channels - c0 < 16 ? channels - c0 : 16;
  const float *src = x + c0 * positions;
  float *dst = y + block * positions * 16;
#if defined(GC_VECTOR_AVX512)
  if (lanes * positions <= INT32_MAX) {
    const __mmask16 mask = (__mmask16)((1u << lanes) - 1u);
    const __m512i index = _mm512_mullo_epi32(
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
      _mm512_set1_epi32((int32_t)positions));
    for (int64_t p = p_begin; p < p_end; p++) {
      __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask, index, src + p, 4);
      _mm512_storeu_ps(dst + p * 16, v);
    }
    return;
  }
#endif
  int64_t p = p_begin;
#if defined(GC_VECTOR_AVX2)
  // 8 positions × 8 channels at a time, turned round in registers (`gc_transpose8`: 0.55 of
  // the time of 16 × 16 transposes, 64 channels on 56 × 56, one thread, C harness).
  for (; p + 8 <= p_end; p += 8) {
#pragma clang loop unroll(full)
    for (int h = 0; h < 16; h += 8) {
      gc_v8 v[8];
#pragma clang loop unroll(full)
      for (int l = 0; l < 8; l++) {
        if (h + l < lanes) memcpy(&v[l], src + (h + l) * positions + p, sizeof v[l]);
        else v[l] = (gc_v8){0};
      }
      gc_transpose8(v);
#pragma clang loop unroll(full)
      for (int i = 0; i < 8; i++) memcpy(dst + (p + i) * 16 + h, &v[i], sizeof v[i]);
    }
  }
#elif !defined(GC_VECTOR_AVX512)
  // 16 positions of the block's channels at a time, turned round in registers.
  for (; p + 16 <= p_end; p += 16) {
    gc_v16 v[16];
#pragma clang loop unroll(full)
    for (int l = 0; l < 16; l++) v[l] = l < lanes ? gc_load(src + l * positions + p) : gc_splat(0);
    gc_transpose16(v);
#pragma clang loop unroll(full)
    for (int i = 0; i < 16; i++) gc_store(dst + (p + i) * 16, v[i]);
  }
#endif
  for (; p < p_end; p++) {
    float lanesOut[16] = {0};
    for (int64_t l = 0; l < lanes; l++) lanesOut[l] = src[l * positions + p];
    gc_store(dst + p * 16, gc_load(lanesOut));
  }
}

void GC_ISA(gc_blocked_to_planes)(
  const float *x, float *y, int64_t channels, int64_t positions, int64_t block, int64_t p_begin,
  int64_t p_end) {
  const int64_t c0 = block * 16;
  const int64_t lanes = channels - c0 < 16 ? channels - c0 : 16;
  const float *src = x + block * positions * 16;
  float *dst = y + c0 * positions;
#if defined(GC_VECTOR_AVX512)
  const __m512i index = _mm512_setr_epi32(
    0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240);
  for (int64_t l = 0; l < lanes; l++) {
    int64_t p = p_begin;
    for (; p + 16 <= p_end; p += 16)
      _mm512_storeu_ps(dst + l * positions + p,
                       _mm512_i32gather_ps(index, src + p * 16 + l, 4));
    if (p < p_end) {
      const __mmask16 mask = (__mmask16)((1u << (p_end - p)) - 1u);
      __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask, index, src + p * 16 + l, 4);
      _mm512_mask_storeu_ps(dst + l * positions + p, mask, v);
    }
  }
#else
  // 16 positions at a time (8 × 8 channels with AVX2), turned round in registers; the rest
  // one float at a time.
  int64_t p = p_begin;
#if defined(GC_VECTOR_AVX2)
  for (; p + 8 <= p_end; p += 8) {
#pragma clang loop unroll(full)
    for (int h = 0; h < 16; h += 8) {
      if (h >= lanes) break;
      gc_v8 v[8];
#pragma clang loop unroll(full)
      for (int i = 0; i < 8; i++) memcpy(&v[i], src + (p + i) * 16 + h, sizeof v[i]);
      gc_transpose8(v);
#pragma clang loop unroll(full)
      for (int l = 0; l < 8; l++)
        if (h + l < lanes) memcpy(dst + (h + l) * positions + p, &v[l], sizeof v[l]);
    }
  }
#endif
  for (; p + 16 <= p_end; p += 16) {
    gc_v16 v[16];
#pragma clang loop unroll(full)
    for (int i = 0; i < 16; i++) v[i] = gc_load(src + (p + i) * 16);
    gc_transpose16(v);
#pragma clang loop unroll(full)
    for (int l = 0; l < 16; l++)
      if (l < lanes) gc_store(dst + l * positions + p, v[l]);
  }
  for (int64_t l = 0; l < lanes; l++)
    for (int64_t q = p; q < p_end; q++) dst[l * positions + q] = src[q * 16 + l];
#endif
}

void GC_ISA(gc_transpose)(
  const float *x, float *y, int64_t rows, int64_t columns, int64_t r_begin, int64_t r_end,
  const float *scale, const float *residual) {
  int64_t r = r_begin;
  for (; r + 16 <= r_end; r += 16) {
    int64_t c = 0;
    for (; c + 16 <= columns; c += 16) {
      gc_v16 v[16];
#pragma clang loop unroll(full)
      for (int i = 0; i < 16; i++) v[i] = gc_load(x + (r + i) * columns + c);
      gc_transpose16(v);
      if (scale) {
#pragma clang loop unroll(full)
        for (int i = 0; i < 16; i++) v[i] *= gc_splat(scale[c + i]);
      }
      if (residual) {
#pragma clang loop unroll(full)
        for (int i = 0; i < 16; i++) v[i] += gc_load(residual + (c + i) * rows + r);
      }
#pragma clang loop unroll(full)
      for (int i = 0; i < 16; i++) gc_store(y + (c + i) * rows + r, v[i]);
    }
    for (; c < columns; c++)
      for (int i = 0; i < 16; i++) {
        const int64_t at = c * rows + r + i;
        y[at] = x[(r + i) * columns + c] * (scale ? scale[c] : 1.0f)
          + (residual ? residual[at] : 0.0f);
      }
  }
  for (; r < r_end; r++)
    for (int64_t c = 0; c < columns; c++) {
      const int64_t at = c * rows + r;
      y[at] = x[r * columns + c] * (scale ? scale[c] : 1.0f) + (residual ? residual[at] : 0.0f);
    }
}

void GC_ISA(gc_blocked_mean)(
  const float *x, float *y, int64_t channels, int64_t positions, int64_t block) {
  const float *src = x + block * positions * 16;
  gc_v16 sum[4] = {gc_splat(0), gc_splat(0), gc_splat(0), gc_splat(0)};
  int64_t p = 0;
  for (; p + 4 <= positions; p += 4)
    for (int i = 0; i < 4; i++) sum[i] += gc_load(src + (p + i) * 16);
  for (; p < positions; p++) sum[0] += gc_load(src + p * 16);
  gc_v16 mean = (sum[0] + sum[1] + (sum[2] + sum[3])) / gc_splat((float)positions);
  const int64_t c0 = block * 16;
  gc_store_first(y + c0, mean, channels - c0 < 16 ? channels - c0 : 16);
}

void GC_ISA(gc_blocked_add_finish)(
  float *y, const float *partial, int64_t begin, int64_t end, const float *clamp,
  int32_t activation) {
  for (int64_t i = begin; i < end; i += 16) {
    const gc_v16 v = gc_load(y + i) + gc_load(partial + i);
    gc_store(y + i, clamp ? gc_clamp(v, clamp) : v);
  }
  if (activation >= 0 && end > begin)
    GC_ISA(blocked_activate)(activation, y + begin, 0, 1, (end - begin) / 16);
}

void GC_ISA(gc_blocked_gate)(
  const float *x, const float *gate, float *y, int64_t positions, int64_t block_begin,
  int64_t block_end) {
  for (int64_t b = block_begin; b < block_end; b++) {
    const gc_v16 g = gc_load(gate + b * 16);
    const float *src = x + b * positions * 16;
    float *dst = y + b * positions * 16;
    for (int64_t p = 0; p < positions; p++) gc_store(dst + p * 16, gc_load(src + p * 16) * g);
  }
}
