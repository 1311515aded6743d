// Max and average pooling of one plane (see include/gc_pooling.h), one output row at a time:
// the rows of the windows are folded first into one row (whole vectors, no shuffles), then
// the interior columns (whole windows) 16 at a time, the border columns one at a time over
// their clipped windows.
// Included once per instruction set with GC_ISA defined; GC_VECTOR_AVX512 selects masked
// loads and stores for partial vectors and `vmaxps` for the max.
#include "gc_pooling.h"
#include <float.h>
#include <string.h>

/// Lane i < n holds p[i * s] (n in 1...16), reading nothing past p[(n - 1) * s]; the other
/// lanes are unspecified.
static inline __attribute__((always_inline)) gc_v16 GC_ISA(pool_gather)(
  const float *p, int64_t s, int n) {
  if (s == 1) return gc_load_first(p, n);
#if defined(GC_VECTOR_AVX512)
  if (s == 2) {
    // Floats [0, 2n - 1) hold the lanes: the first 16 in `low`, the rest in `high`.
    int need = 2 * n - 1;
    __mmask16 low_mask = need >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << need) - 1u);
    __mmask16 high_mask = need > 16 ? (__mmask16)((1u << (need - 16)) - 1u) : 0;
    gc_v16 low = (gc_v16)_mm512_maskz_loadu_ps(low_mask, p);
    gc_v16 high = (gc_v16)_mm512_maskz_loadu_ps(high_mask, p + 16);
    return __builtin_shufflevector(low, high, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24,
                                   26, 28, 30);
  }
#else
  if (s == 2 && n == 16) {
    float lanes[32];
    memcpy(lanes, p, 31 * sizeof(float));
    lanes[31] = 0;
    gc_v16 low = gc_load(lanes), high = gc_load(lanes + 16);
    return __builtin_shufflevector(low, high, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24,
                                   26, 28, 30);
  }
#endif
  float lanes[16] = {0};
  for (int i = 0; i < n; i++) lanes[i] = p[i * s];
  return gc_load(lanes);
}

/// a ∘ b: the max (w > acc ? w : acc) or the sum.
static inline __attribute__((always_inline)) gc_v16 GC_ISA(pool_fold)(
  int average, gc_v16 acc, gc_v16 w) {
  return average ? acc + w : gc_max(w, acc);  // a NaN in w is skipped
}

/// The rows of output row (oz, oy)'s windows (their valid depth and height taps) folded
/// column by column into v[0 ..< in_w] (and up to 15 more, unspecified): each vector of
/// columns in a register over every row, then one store.
static inline __attribute__((always_inline)) void GC_ISA(pool_rows)(
  const gc_pooling_args *g, int average, int64_t oz, int64_t oy, float *v) {
  const int32_t *zt = g->taps[0] + 2 * oz, *yt = g->taps[1] + 2 * oy;
  const int64_t in_w = g->in_w;
  const float *first = g->x + ((oz * g->stride[0] - g->pad[0]) * g->in_h + oy * g->stride[1] -
                               g->pad[1]) * in_w;
  const int64_t step_z = g->dilation[0] * g->in_h * in_w, step_y = g->dilation[1] * in_w;
  for (int64_t j = 0; j < in_w; j += 16) {
    int n = in_w - j < 16 ? (int)(in_w - j) : 16;
    gc_v16 acc = gc_splat(average ? 0.0f : -FLT_MAX);
    for (int32_t kz = zt[0]; kz < zt[1]; kz++) {
      for (int32_t ky = yt[0]; ky < yt[1]; ky++) {
        const float *line = first + kz * step_z + ky * step_y + j;
        acc = GC_ISA(pool_fold)(average, acc, GC_ISA(pool_gather)(line, 1, n));
      }
    }
    gc_store(v + j, acc);
  }
}

/// Output row (oz, oy) from its folded rows v: the interior columns 16 at a time, the border
/// columns over their clipped windows, and for the average the division.
static inline __attribute__((always_inline)) void GC_ISA(pool_columns)(
  const gc_pooling_args *g, const int average, const int64_t sx, const int64_t dx,
  const int64_t kw, int64_t oz, int64_t oy, const float *v, float *row) {
  for (int64_t ox = g->interior_lo; ox < g->interior_hi; ox += 16) {
    int n = g->interior_hi - ox < 16 ? (int)(g->interior_hi - ox) : 16;
    const float *base = v + ox * sx - g->pad[2];
    gc_v16 acc = GC_ISA(pool_gather)(base, sx, n);
    for (int64_t kx = 1; kx < kw; kx++)
      acc = GC_ISA(pool_fold)(average, acc, GC_ISA(pool_gather)(base + kx * dx, sx, n));
    gc_store_first(row + ox, acc, n);
  }
  for (int64_t ox = 0; ox < g->out_w; ox++) {
    if (ox == g->interior_lo && g->interior_hi > ox) ox = g->interior_hi;
    if (ox >= g->out_w) break;
    const int32_t *xt = g->taps[2] + 2 * ox;
    const float *base = v + ox * sx - g->pad[2];
    float value = average ? 0.0f : -FLT_MAX;
    for (int32_t kx = xt[0]; kx < xt[1]; kx++) {
      float x = base[kx * dx];
      value = average ? value + x : (x > value ? x : value);
    }
    row[ox] = value;
  }
  if (average) {
    const int32_t outer = g->divisors[0][oz] * g->divisors[1][oy];
    for (int64_t ox = 0; ox < g->out_w; ox++)
      row[ox] /= (float)(outer * g->divisors[2][ox]);
  }
}

/// Output rows [oy0, oy1) of depth oz: all their folded rows first, then all their columns,
/// so that the stores of the first pass have left the store buffer when the second reads them.
/// Compiled apart for the max and the sum, and for the common windows of the width (3 taps
/// of stride 1 or 2, 2 taps of stride 2).
static inline __attribute__((always_inline)) void GC_ISA(pool_block)(
  const gc_pooling_args *g, const int average, int64_t oz, int64_t oy0, int64_t oy1,
  int64_t pitch) {
  for (int64_t oy = oy0; oy < oy1; oy++)
    GC_ISA(pool_rows)(g, average, oz, oy, g->scratch + (oy - oy0) * pitch);
  const int64_t sx = g->stride[2], dx = g->dilation[2], kw = g->kernel_w;
  for (int64_t oy = oy0; oy < oy1; oy++) {
    const float *v = g->scratch + (oy - oy0) * pitch;
    float *row = g->y + (oz * g->out_h + oy) * g->out_w;
    if (dx == 1 && kw == 3 && sx == 2)
      GC_ISA(pool_columns)(g, average, 2, 1, 3, oz, oy, v, row);
    else if (dx == 1 && kw == 3 && sx == 1)
      GC_ISA(pool_columns)(g, average, 1, 1, 3, oz, oy, v, row);
    else if (dx == 1 && kw == 2 && sx == 2)
      GC_ISA(pool_columns)(g, average, 2, 1, 2, oz, oy, v, row);
    else
      GC_ISA(pool_columns)(g, average, sx, dx, kw, oz, oy, v, row);
  }
}

static void GC_ISA(pool_block_max)(
  const gc_pooling_args *g, int64_t oz, int64_t oy0, int64_t oy1, int64_t pitch) {
  GC_ISA(pool_block)(g, 0, oz, oy0, oy1, pitch);
}

static void GC_ISA(pool_block_sum)(
  const gc_pooling_args *g, int64_t oz, int64_t oy0, int64_t oy1, int64_t pitch) {
  GC_ISA(pool_block)(g, 1, oz, oy0, oy1, pitch);
}

void GC_ISA(gc_pooling_plane)(const gc_pooling_args *g) {
  const int64_t pitch = gc_pooling_scratch_pitch(g->in_w);
  int64_t rows = g->scratch_count / pitch;
  if (rows > g->out_h) rows = g->out_h;
  if (rows < 1) return;
  // The slack of each folded row, read (and dropped) by the last vectors of the second pass.
  for (int64_t r = 0; r < rows; r++)
    memset(g->scratch + r * pitch + g->in_w, 0, (size_t)(pitch - g->in_w) * sizeof(float));
  const int average = g->divisors[0] != NULL;
  for (int64_t oz = 0; oz < g->out_d; oz++) {
    for (int64_t oy = 0; oy < g->out_h; oy += rows) {
      int64_t end = oy + rows < g->out_h ? oy + rows : g->out_h;
      if (average)
        GC_ISA(pool_block_sum)(g, oz, oy, end, pitch);
      else
        GC_ISA(pool_block_max)(g, oz, oy, end, pitch);
    }
  }
}
