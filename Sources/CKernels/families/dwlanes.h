// Depthwise convolution with 16 channels in the lanes (see include/gc_dwlanes.h): planes in
// and out of the lanes by 16 × 16 transposes (8 × 8 ones with AVX2), the taps one
// multiply-add per output vector.
// Included once per instruction set with GC_ISA defined.
#include "gc_dwlanes.h"
#include "activation_math.h"
#include <string.h>

/// Positions of a plane's last group (of 16) up to which it goes in and out of the lanes one
/// float at a time rather than by a transpose: with AVX2, whose transposes take several µops
/// per shuffle, the 49th position of a 7 × 7 plane alone took a quarter of the transposes.
#if defined(GC_VECTOR_AVX2)
#define DWLANES_FEW 4
#else
#define DWLANES_FEW 0
#endif

/// Output positions [ox, ox + R) of row oy, R a constant: R vectors of sums over the taps,
/// from the bias, clamped, into sums.
static inline __attribute__((always_inline)) void GC_ISA(dw_segment)(
  const int R, const gc_dwlanes_args *g, const float *staged, const float *w, gc_v16 bias,
  int64_t oy, int64_t ox, float *sums) {
  gc_v16 acc[8];
#pragma clang loop unroll(full)
  for (int r = 0; r < 8; r++)
    if (r < R) acc[r] = bias;
  const int64_t sw = g->stride_w * 16;
  for (int64_t ky = 0; ky < g->kernel_h; ky++) {
    const float *row =
      staged + ((oy * g->stride_h + ky * g->dilation_h) * g->staged_w + ox * g->stride_w) * 16;
    for (int64_t kx = 0; kx < g->kernel_w; kx++) {
      gc_v16 wv = gc_load(w + (ky * g->kernel_w + kx) * 16);
      const float *p = row + kx * g->dilation_w * 16;
#pragma clang loop unroll(full)
      for (int r = 0; r < 8; r++)
        if (r < R) acc[r] += gc_load(p + r * sw) * wv;
    }
  }
#pragma clang loop unroll(full)
  for (int r = 0; r < 8; r++) {
    if (r >= R) continue;
    if (g->clamp) acc[r] = gc_clamp(acc[r], g->clamp);
    if (g->activation >= 0) acc[r] = act_apply(g->activation, acc[r]);
    gc_store(sums + ((oy * g->out_w + ox + r) * 16), acc[r]);
  }
}

#define GC_DW_CASE(R) \
  case R: GC_ISA(dw_segment)(R, g, staged, w, bias, oy, ox, sums); break;

/// The staged vector of input position (iy, ix), with (iy, ix) moved on to the next
/// position of the plane.
static inline __attribute__((always_inline)) float *GC_ISA(dw_staged_next)(
  const gc_dwlanes_args *g, float *staged, int64_t *iy, int64_t *ix) {
  float *d = staged + ((*iy + g->pad_top) * g->staged_w + *ix + g->pad_left) * 16;
  if (++*ix == g->in_w) {
    *ix = 0;
    ++*iy;
  }
  return d;
}

void GC_ISA(gc_dwlanes)(const gc_dwlanes_args *g) {
  const int64_t plane = g->in_h * g->in_w, out_plane = g->out_h * g->out_w;
  const int64_t taps = g->kernel_h * g->kernel_w;
  float *staged = g->scratch;
  float *sums = staged + g->staged_h * g->staged_w * 16;
  // Zeros around the planes, once: every block writes the same positions inside them.
  memset(staged, 0, (size_t)(g->staged_h * g->staged_w * 16) * sizeof(float));
  for (int64_t block = g->block_begin; block < g->block_end; block++) {
    const int64_t c0 = block * 16;
    const int nc = g->channels - c0 < 16 ? (int)(g->channels - c0) : 16;
    // The block's planes into the lanes.
    int64_t iy = 0, ix = 0;  // of position p0 + q
    for (int64_t p0 = 0; p0 < plane; p0 += 16) {
      const int n = plane - p0 < 16 ? (int)(plane - p0) : 16;
      if (n <= DWLANES_FEW) {
        for (int q = 0; q < n; q++) {
          float *d = GC_ISA(dw_staged_next)(g, staged, &iy, &ix);
          for (int c = 0; c < nc; c++) d[c] = g->x[(c0 + c) * plane + p0 + q];
        }
        continue;
      }
#if defined(GC_VECTOR_AVX2)
      // 8 positions × 8 channels at a time: AVX2's 16 registers hold half of a 16 × 16
      // transpose's 32 vectors.
      float *to[16];
      for (int q = 0; q < n; q++) to[q] = GC_ISA(dw_staged_next)(g, staged, &iy, &ix);
      for (int q0 = 0; q0 < 16; q0 += 8) {
        if (q0 >= n) break;
        const unsigned count = n - q0 < 8 ? (unsigned)(n - q0) : 8;
#pragma clang loop unroll(full)
        for (int h = 0; h < 16; h += 8) {
          gc_v8 v[8];
#pragma clang loop unroll(full)
          for (int c = 0; c < 8; c++)
            v[c] = h + c < nc ? (gc_v8)gc_load_lanes(g->x + (c0 + h + c) * plane + p0 + q0, count)
                              : (gc_v8){0};
          gc_transpose8(v);
#pragma clang loop unroll(full)
          for (int q = 0; q < 8; q++)
            if ((unsigned)q < count) memcpy(to[q0 + q] + h, &v[q], sizeof v[q]);
        }
      }
      continue;
#endif
      gc_v16 r[16];
#pragma clang loop unroll(full)
      for (int c = 0; c < 16; c++)
        r[c] = c < nc ? gc_load_first(g->x + (c0 + c) * plane + p0, n) : gc_splat(0);
      gc_transpose16(r);
#pragma clang loop unroll(full)
      for (int q = 0; q < 16; q++)
        if (q < n) gc_store(GC_ISA(dw_staged_next)(g, staged, &iy, &ix), r[q]);
    }
    // Every output vector over its taps.
    const float *w = g->weights + block * taps * 16;
    const gc_v16 bias = g->bias ? gc_load(g->bias + c0) : gc_splat(0);
    for (int64_t oy = 0; oy < g->out_h; oy++) {
      for (int64_t ox = 0; ox < g->out_w; ox += 8) {
        switch (g->out_w - ox < 8 ? (int)(g->out_w - ox) : 8) {
          GC_DW_CASE(8)
          GC_DW_CASE(7)
          GC_DW_CASE(6)
          GC_DW_CASE(5)
          GC_DW_CASE(4)
          GC_DW_CASE(3)
          GC_DW_CASE(2)
          GC_DW_CASE(1)
          default: break;
        }
      }
    }
    // The sums out of the lanes, into the channels' planes.
    for (int64_t q0 = 0; q0 < out_plane; q0 += 16) {
      const int n = out_plane - q0 < 16 ? (int)(out_plane - q0) : 16;
      if (n <= DWLANES_FEW) {
        for (int q = 0; q < n; q++)
          for (int c = 0; c < nc; c++)
            g->y[(c0 + c) * out_plane + q0 + q] = sums[(q0 + q) * 16 + c];
        continue;
      }
#if defined(GC_VECTOR_AVX2)
      for (int q1 = 0; q1 < 16; q1 += 8) {
        if (q1 >= n) break;
        const unsigned count = n - q1 < 8 ? (unsigned)(n - q1) : 8;
        for (int h = 0; h < 16; h += 8) {
          if (h >= nc) break;
          gc_v8 v[8];
#pragma clang loop unroll(full)
          for (int q = 0; q < 8; q++) {
            if ((unsigned)q < count) memcpy(&v[q], sums + (q0 + q1 + q) * 16 + h, sizeof v[q]);
            else v[q] = (gc_v8){0};
          }
          gc_transpose8(v);
#pragma clang loop unroll(full)
          for (int c = 0; c < 8; c++)
            if (h + c < nc)
              gc_store_lanes(g->y + (c0 + h + c) * out_plane + q0 + q1, (__m256)v[c], count);
        }
      }
      continue;
#endif
      gc_v16 r[16];
#pragma clang loop unroll(full)
      for (int q = 0; q < 16; q++) r[q] = q < n ? gc_load(sums + (q0 + q) * 16) : gc_splat(0);
      gc_transpose16(r);
#pragma clang loop unroll(full)
      for (int c = 0; c < 16; c++)
        if (c < nc) gc_store_first(g->y + (c0 + c) * out_plane + q0, r[c], n);
    }
  }
}
#undef GC_DW_CASE
