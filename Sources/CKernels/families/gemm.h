// The GEMM convolution family (see include/gc_gemm.h): an 8 × 48 microkernel (8 output
// channels × 3 vectors of 16 compute positions, 24 accumulators) and the tile loop that calls
// it; a 6 × 64 column microkernel (6 positions × 4 vectors of 16 output channels) for planes
// of few positions; and the input preparation. Included once per instruction set with GC_ISA
// defined; GC_GEMM_MASKED selects AVX-512 masked loads and stores for partial vectors.
#include "gc_gemm.h"
#include "activation_math.h"
#include "avx2_tile.h"
#include <string.h>

#ifndef GC_GEMM_FAMILY_TYPES
#define GC_GEMM_FAMILY_TYPES
/// A run of lanes [lane, lane + count) of one accumulator vector that lands contiguously in an
/// output plane: lane l goes to y[offset + l].
typedef struct gc_gemm_segment {
  int32_t lane, count;
  int64_t offset;
} gc_gemm_segment;

/// At most one run per row touched, plus one: 16 rows for a vector of 16 positions.
#define GC_GEMM_SEGMENTS_PER_VECTOR 17
#define GC_GEMM_NV (GC_GEMM_NR / 16)
#endif

// MARK: - Partial loads and stores

/// Stores lanes [lane, lane + count) of v at y[offset + lane ...].
static inline __attribute__((always_inline)) void GC_ISA(gemm_store)(
  float *y, const gc_gemm_segment *s, gc_v16 v) {
  if (s->count == 16) {
    gc_store(y + s->offset, v);
    return;
  }
#if defined(GC_GEMM_MASKED)
  __mmask16 mask = (__mmask16)(((1u << s->count) - 1u) << s->lane);
  float *base = (float *)((uintptr_t)y + (uintptr_t)(s->offset * (int64_t)sizeof(float)));
  _mm512_mask_storeu_ps(base, mask, (__m512)v);
#elif defined(GC_VECTOR_AVX2)
  const unsigned bits = ((1u << s->count) - 1u) << s->lane;
  float *base = (float *)((uintptr_t)y + (uintptr_t)(s->offset * (int64_t)sizeof(float)));
  gc_store_half(base, gc_low(v), bits & 0xffu);
  gc_store_half(base + 8, gc_high(v), bits >> 8);
#else
  float lanes[16];
  memcpy(lanes, &v, sizeof lanes);
  for (int32_t l = s->lane; l < s->lane + s->count; l++) y[s->offset + l] = lanes[l];
#endif
}

/// v with lanes [lane, lane + count) replaced by y[offset + lane ...].
static inline __attribute__((always_inline)) gc_v16 GC_ISA(gemm_load)(
  const float *y, const gc_gemm_segment *s, gc_v16 v) {
  if (s->count == 16) return gc_load(y + s->offset);
#if defined(GC_GEMM_MASKED)
  __mmask16 mask = (__mmask16)(((1u << s->count) - 1u) << s->lane);
  const float *base =
    (const float *)((uintptr_t)y + (uintptr_t)(s->offset * (int64_t)sizeof(float)));
  return (gc_v16)_mm512_mask_loadu_ps((__m512)v, mask, base);
#elif defined(GC_VECTOR_AVX2)
  const unsigned bits = ((1u << s->count) - 1u) << s->lane;
  const float *base =
    (const float *)((uintptr_t)y + (uintptr_t)(s->offset * (int64_t)sizeof(float)));
  const __m256i low = gc_half_mask(bits & 0xffu), high = gc_half_mask(bits >> 8);
  return gc_join(
    _mm256_blendv_ps(gc_low(v), _mm256_maskload_ps(base, low), _mm256_castsi256_ps(low)),
    _mm256_blendv_ps(gc_high(v), _mm256_maskload_ps(base + 8, high), _mm256_castsi256_ps(high)));
#else
  float lanes[16];
  memcpy(lanes, &v, sizeof lanes);
  for (int32_t l = s->lane; l < s->lane + s->count; l++) lanes[l] = y[s->offset + l];
  memcpy(&v, lanes, sizeof v);
  return v;
#endif
}

// MARK: - Microkernel

/// The starting sum of row i, vector j: sums[i * 48 + 16 j ...] when `sums` is given, else y
/// when accumulating (else zero) plus the bias.
static inline __attribute__((always_inline)) gc_v16 GC_ISA(gemm_start)(
  const int i, const int j, float *restrict y, int64_t ldy, const gc_gemm_segment *segments,
  const int *first, const float *bias, int accumulate, const float *sums) {
  if (sums) return gc_load(sums + i * GC_GEMM_NR + 16 * j);
  gc_v16 v = gc_splat(0);
  if (accumulate) {
    for (int s = first[j]; s < first[j + 1]; s++)
      v = GC_ISA(gemm_load)(y + i * ldy, &segments[s], v);
  }
  return bias ? v + gc_broadcast(bias + i) : v;
}

/// Stores the sum of row i, vector j: to `sums_out` when given, else clamped and activated
/// through the segments (vector j's runs are segments[first[j] ..< first[j + 1]]).
static inline __attribute__((always_inline)) void GC_ISA(gemm_finish)(
  const int i, const int j, gc_v16 v, float *restrict y, int64_t ldy,
  const gc_gemm_segment *segments, const int *first, const float *clamp, int activation,
  float *sums_out) {
  if (sums_out) {
    gc_store(sums_out + i * GC_GEMM_NR + 16 * j, v);
    return;
  }
  if (clamp) v = gc_clamp(v, clamp);
  if (activation >= 0) v = act_apply(activation, v);
  for (int s = first[j]; s < first[j + 1]; s++)
    GC_ISA(gemm_store)(y + i * ldy, &segments[s], v);
}

/// acc[i][j] = sum over k of a[k * 8 + i] * B[k][16 j ...] for rows i < mr and vectors
/// j < nv, with B[k] = src + koff[k], or src + 48 k when `packed`, added to the starting sums
/// (`gemm_start`) and stored (`gemm_finish`). mr, nv, prefetch and packed are constants in
/// every call, so the accumulators stay in registers. With AVX2, whose 16 registers hold 6
/// of the 24 vectors, the products are summed in sub-tiles of 6 rows × 16 columns and 2 × 48
/// (`gc_avx2_tiles`) and go through L1 to the sums.
static inline __attribute__((always_inline)) void GC_ISA(gemm_kernel)(
  const int mr, const int nv, const float *restrict a, const float *restrict src,
  const int64_t *restrict koff, int64_t kc, float *restrict y, int64_t ldy,
  const gc_gemm_segment *segments, const int *first, const float *bias, int accumulate,
  const int prefetch, const int packed, const float *clamp, int activation,
  const float *sums, float *sums_out) {
#if defined(GC_VECTOR_AVX2)
  (void)prefetch;
  float products[GC_GEMM_MR * GC_GEMM_NR] __attribute__((aligned(64)));
  const float *rows[GC_GEMM_MR] = {a, a + 1, a + 2, a + 3, a + 4, a + 5, a + 6, a + 7};
  gc_avx2_tiles(
    mr, nv, rows, NULL, GC_GEMM_MR, src, packed ? NULL : koff, GC_GEMM_NR, kc, products,
    GC_GEMM_NR, 0, NULL);
#pragma clang loop unroll(full)
  for (int i = 0; i < GC_GEMM_MR; i++) {
#pragma clang loop unroll(full)
    for (int j = 0; j < GC_GEMM_NV; j++) {
      if (i >= mr || j >= nv) continue;
      gc_v16 v = GC_ISA(gemm_start)(i, j, y, ldy, segments, first, bias, accumulate, sums)
        + gc_load(products + i * GC_GEMM_NR + 16 * j);
      GC_ISA(gemm_finish)(i, j, v, y, ldy, segments, first, clamp, activation, sums_out);
    }
  }
#else
  gc_v16 acc[GC_GEMM_MR][GC_GEMM_NV];
#pragma clang loop unroll(full)
  for (int i = 0; i < GC_GEMM_MR; i++) {
#pragma clang loop unroll(full)
    for (int j = 0; j < GC_GEMM_NV; j++) {
      if (i >= mr || j >= nv) continue;
      acc[i][j] = GC_ISA(gemm_start)(i, j, y, ldy, segments, first, bias, accumulate, sums);
    }
  }
  for (int64_t k = 0; k < kc; k++) {
    const float *b = packed ? src + k * GC_GEMM_NR : src + koff[k];
    const float *ak = a + k * GC_GEMM_MR;
    gc_v16 b0 = gc_load(b);
    gc_v16 b1 = nv > 1 ? gc_load(b + 16) : b0;
    gc_v16 b2 = nv > 2 ? gc_load(b + 32) : b0;
    if (prefetch) {  // the next tile's B: read from memory once, then from L1
      __builtin_prefetch(b + GC_GEMM_NR);
      __builtin_prefetch(b + GC_GEMM_NR + 16);
      __builtin_prefetch(b + GC_GEMM_NR + 32);
    }
#pragma clang loop unroll(full)
    for (int i = 0; i < GC_GEMM_MR; i++) {
      if (i >= mr) continue;
      gc_v16 ai = gc_broadcast(ak + i);
      acc[i][0] += ai * b0;
      if (nv > 1) acc[i][1] += ai * b1;
      if (nv > 2) acc[i][2] += ai * b2;
    }
  }
#pragma clang loop unroll(full)
  for (int i = 0; i < GC_GEMM_MR; i++) {
#pragma clang loop unroll(full)
    for (int j = 0; j < GC_GEMM_NV; j++) {
      if (i >= mr || j >= nv) continue;
      GC_ISA(gemm_finish)(i, j, acc[i][j], y, ldy, segments, first, clamp, activation, sums_out);
    }
  }
#endif
}

#define GC_GEMM_CASE(MR, NV, MODE)                                                    \
  case ((MODE) * 8 + (MR)) * 4 + (NV):                                                \
    GC_ISA(gemm_kernel)(                                                              \
      MR, NV, a, src, koff, kc, y, ldy, segments, first, bias, accumulate, (MODE) == 1, \
      (MODE) == 2, clamp, activation, sums, sums_out);                                \
    break;
#define GC_GEMM_CASES(MR)                                                            \
  GC_GEMM_CASE(MR, 1, 0) GC_GEMM_CASE(MR, 2, 0) GC_GEMM_CASE(MR, 3, 0)               \
  GC_GEMM_CASE(MR, 3, 1) GC_GEMM_CASE(MR, 1, 2) GC_GEMM_CASE(MR, 2, 2) GC_GEMM_CASE(MR, 3, 2)

/// The microkernel for mr in 1...8 rows and nv in 1...3 vectors, each shape compiled apart;
/// with `prefetch` (3 vectors, B not packed only), it also prefetches the next tile's B;
/// with `packed`, B is the packed rows of 48 floats.
static void GC_ISA(gemm_kernel_any)(
  int mr, int nv, const float *restrict a, const float *restrict src,
  const int64_t *restrict koff, int64_t kc, float *restrict y, int64_t ldy,
  const gc_gemm_segment *segments, const int *first, const float *bias, int accumulate,
  int prefetch, int packed, const float *clamp, int activation, const float *sums,
  float *sums_out) {
  int mode = packed ? 2 : prefetch && nv == 3 ? 1 : 0;
  switch ((mode * 8 + mr) * 4 + nv) {
    GC_GEMM_CASES(8)
    GC_GEMM_CASES(7)
    GC_GEMM_CASES(6)
    GC_GEMM_CASES(5)
    GC_GEMM_CASES(4)
    GC_GEMM_CASES(3)
    GC_GEMM_CASES(2)
    GC_GEMM_CASES(1)
    default: break;
  }
}
#undef GC_GEMM_CASES
#undef GC_GEMM_CASE

// MARK: - Tile loop

/// The runs of compute positions [p, p + count) that are output positions, one vector of 16
/// at a time, a run that crosses into the next row of y one segment; returns the number of
/// vectors.
static int GC_ISA(gemm_segments)(
  const gc_gemm_tiles_args *t, int64_t p, int64_t count, gc_gemm_segment *segments,
  int *first) {
  int nv = (int)((count + 15) / 16);
  int n = 0;
  for (int j = 0; j < nv; j++) {
    first[j] = n;
    int64_t lane = 0, lanes = count - 16 * j < 16 ? count - 16 * j : 16;
    while (lane < lanes) {
      int64_t q = p + 16 * j + lane;
      int64_t c = q % t->e_w, rows = q / t->e_w;
      int64_t r = rows % t->e_h, z = rows / t->e_h;
      if (r >= t->y_h) {  // a dropped row: skip to the next plane
        lane += (t->e_h - r) * t->e_w - c;
        continue;
      }
      if (c >= t->y_w) {  // dropped columns: skip to the next row
        lane += t->e_w - c;
        continue;
      }
      int64_t run = t->y_w - c;
      if (run > lanes - lane) run = lanes - lane;
      const int64_t offset = ((z * t->y_h + r) * t->y_w + c) - lane;
      gc_gemm_segment *last = n > first[j] ? &segments[n - 1] : NULL;
      if (last && last->lane + last->count == lane && last->offset == offset) {
        // The run goes on in the next row, which follows this one in y (no dropped columns
        // between: a 1×1, or a padded layer computed at its output's width).
        last->count += (int32_t)run;
      } else {
        segments[n].lane = (int32_t)lane;
        segments[n].count = (int32_t)run;
        segments[n].offset = offset;
        n++;
      }
      lane += run;
    }
  }
  first[nv] = n;
  return nv;
}

/// Copies rows [k0, k0 + rows) of the tile's B, nv vectors each, into pack (48 floats a row);
/// with `prefetch`, also fetches the same rows of the next tile into L2. With `masks` (the
/// tile's first vector's, of tap 0), each row's lanes outside its tap's mask are zero.
static void GC_ISA(gemm_pack)(
  const float *src, const int64_t *koff, int64_t k0, int64_t rows, int nv, float *pack,
  int prefetch, const uint16_t *masks, int64_t taps, int64_t mask_vectors) {
  int64_t tap = masks ? k0 % taps : 0;
  for (int64_t k = 0; k < rows; k++) {
    const float *b = src + koff[k0 + k];
    float *d = pack + k * GC_GEMM_NR;
    if (prefetch) {
      __builtin_prefetch(b + GC_GEMM_NR, 0, 2);
      __builtin_prefetch(b + GC_GEMM_NR + 16, 0, 2);
      __builtin_prefetch(b + GC_GEMM_NR + 32, 0, 2);
      __builtin_prefetch(b + GC_GEMM_NR + 47, 0, 2);
    }
    if (masks) {
      const uint16_t *m = masks + tap * mask_vectors;
      if (++tap == taps) tap = 0;
      gc_store(d, gc_load_masked(b, m[0]));
      if (nv > 1) gc_store(d + 16, gc_load_masked(b + 16, m[1]));
      if (nv > 2) gc_store(d + 32, gc_load_masked(b + 32, m[2]));
    } else {
      gc_store(d, gc_load(b));
      if (nv > 1) gc_store(d + 16, gc_load(b + 16));
      if (nv > 2) gc_store(d + 32, gc_load(b + 32));
    }
  }
}

void GC_ISA(gc_gemm_tiles)(const gc_gemm_tiles_args *t) {
  gc_gemm_segment segments[GC_GEMM_NV * GC_GEMM_SEGMENTS_PER_VECTOR];
  int first[GC_GEMM_NV + 1];
  // Packed, each tile's rows of B go in blocks of even length, at most GC_GEMM_PACK_ROWS:
  // each block copied once (from L2), then read from L1 by every 8 output channels, the
  // sums between blocks kept in the scratch after the block, 8 × 48 per panel. In place,
  // the rows are one block.
  int64_t blocks = t->pack ? (t->kc + GC_GEMM_PACK_ROWS - 1) / GC_GEMM_PACK_ROWS : 1;
  int64_t block_rows = (t->kc + blocks - 1) / blocks;
  float *sums = t->pack ? t->pack + GC_GEMM_PACK_ROWS * GC_GEMM_NR : NULL;
  for (int64_t p = t->p_begin; p < t->p_end; p += GC_GEMM_NR) {
    int64_t count = t->p_end - p < GC_GEMM_NR ? t->p_end - p : GC_GEMM_NR;
    int nv = GC_ISA(gemm_segments)(t, p, count, segments, first);
    if (first[nv] == 0) continue;  // only dropped positions
    const float *src = t->src + (p - t->p_begin);
    int more = p + GC_GEMM_NR < t->p_end;
    for (int64_t k0 = 0; k0 < t->kc; k0 += block_rows) {
      int64_t rows = t->kc - k0 < block_rows ? t->kc - k0 : block_rows;
      if (t->pack)
        GC_ISA(gemm_pack)(
          src, t->koff, k0, rows, nv, t->pack, more, t->masks ? t->masks + p / 16 : NULL,
          t->taps, t->mask_vectors);
      for (int64_t m0 = 0; m0 < t->m; m0 += GC_GEMM_MR) {
        int mr = t->m - m0 < GC_GEMM_MR ? (int)(t->m - m0) : GC_GEMM_MR;
        float *panel_sums = sums ? sums + m0 * GC_GEMM_NR : NULL;
        GC_ISA(gemm_kernel_any)(
          mr, nv, t->panels + (m0 / GC_GEMM_MR) * t->panel_stride + k0 * GC_GEMM_MR,
          t->pack ? t->pack : src, t->koff + k0, rows, t->y + m0 * t->ldy, t->ldy, segments,
          first, t->bias ? t->bias + m0 : NULL, t->accumulate, !t->pack && m0 == 0 && more,
          t->pack != NULL, t->clamp, t->activation, k0 == 0 ? NULL : panel_sums,
          k0 + rows == t->kc ? NULL : panel_sums);
      }
    }
  }
}

// MARK: - Column microkernel

/// acc[i][j] = sum over k of src_i[koff[k]] * a[k * 64 + 16 j ...] for positions i < mr and
/// channel vectors j < nv, from t (accumulating), the bias or zero, stored to t[i * 64 + 16 j].
static inline __attribute__((always_inline)) void GC_ISA(gemm_columns_kernel)(
  const int mr, const int nv, const float *restrict a, const float *const *base,
  const int64_t *restrict koff, int64_t kc, float *restrict t, const float *bias,
  int accumulate) {
#if defined(GC_VECTOR_AVX2)
  gc_avx2_tiles(mr, nv, base, koff, 0, a, NULL, 64, kc, t, 64, accumulate, bias);
#else
  gc_v16 acc[GC_GEMM_COLUMNS_MR][4];
  const float *b0 = base[0], *b1 = base[mr > 1 ? 1 : 0], *b2 = base[mr > 2 ? 2 : 0];
  const float *b3 = base[mr > 3 ? 3 : 0], *b4 = base[mr > 4 ? 4 : 0], *b5 = base[mr > 5 ? 5 : 0];
#pragma clang loop unroll(full)
  for (int i = 0; i < GC_GEMM_COLUMNS_MR; i++) {
#pragma clang loop unroll(full)
    for (int j = 0; j < 4; j++) {
      if (i >= mr || j >= nv) continue;
      acc[i][j] = accumulate ? gc_load(t + i * 64 + 16 * j)
                  : bias     ? gc_load(bias + 16 * j)
                             : gc_splat(0);
    }
  }
  for (int64_t k = 0; k < kc; k++) {
    const int64_t o = koff[k];
    const float *ak = a + k * 64;
    gc_v16 w[4];
#pragma clang loop unroll(full)
    for (int j = 0; j < 4; j++) w[j] = j < nv ? gc_load(ak + 16 * j) : gc_splat(0);
    const float *row[GC_GEMM_COLUMNS_MR] = {b0 + o, b1 + o, b2 + o, b3 + o, b4 + o, b5 + o};
#pragma clang loop unroll(full)
    for (int i = 0; i < GC_GEMM_COLUMNS_MR; i++) {
      if (i >= mr) continue;
      gc_v16 v = gc_broadcast(row[i]);
#pragma clang loop unroll(full)
      for (int j = 0; j < 4; j++)
        if (j < nv) acc[i][j] += v * w[j];
    }
  }
#pragma clang loop unroll(full)
  for (int i = 0; i < GC_GEMM_COLUMNS_MR; i++) {
#pragma clang loop unroll(full)
    for (int j = 0; j < 4; j++)
      if (i < mr && j < nv) gc_store(t + i * 64 + 16 * j, acc[i][j]);
  }
#endif
}

#define GC_GEMM_COLUMNS_CASE(MR, NV)                                                   \
  case (MR) * 8 + (NV):                                                               \
    GC_ISA(gemm_columns_kernel)(MR, NV, a, base, koff, kc, t, bias, accumulate); \
    break;
#define GC_GEMM_COLUMNS_CASES(MR)                                                      \
  GC_GEMM_COLUMNS_CASE(MR, 1) GC_GEMM_COLUMNS_CASE(MR, 2) GC_GEMM_COLUMNS_CASE(MR, 3) \
  GC_GEMM_COLUMNS_CASE(MR, 4)

/// The column microkernel for mr in 1...6 positions and nv in 1...4 vectors.
static void GC_ISA(gemm_columns_any)(
  int mr, int nv, const float *restrict a, const float *const *base,
  const int64_t *restrict koff, int64_t kc, float *restrict t, const float *bias,
  int accumulate) {
  switch (mr * 8 + nv) {
    GC_GEMM_COLUMNS_CASES(6)
    GC_GEMM_COLUMNS_CASES(5)
    GC_GEMM_COLUMNS_CASES(4)
    GC_GEMM_COLUMNS_CASES(3)
    GC_GEMM_COLUMNS_CASES(2)
    GC_GEMM_COLUMNS_CASES(1)
    default: break;
  }
}
#undef GC_GEMM_COLUMNS_CASES
#undef GC_GEMM_COLUMNS_CASE

void GC_ISA(gc_gemm_columns)(const gc_gemm_columns_args *g) {
  const float *base[GC_GEMM_COLUMNS_MR];
  for (int64_t q = g->q_begin; q < g->q_end; q += GC_GEMM_COLUMNS_MR) {
    int mr = g->q_end - q < GC_GEMM_COLUMNS_MR ? (int)(g->q_end - q) : GC_GEMM_COLUMNS_MR;
    for (int i = 0; i < mr; i++) {
      int64_t c = (q + i) % g->y_w, rows = (q + i) / g->y_w;
      int64_t r = rows % g->y_h, z = rows / g->y_h;
      base[i] = g->src + (z * g->e_h + r) * g->e_w + c;
    }
    for (int i = mr; i < GC_GEMM_COLUMNS_MR; i++) base[i] = base[0];
    GC_ISA(gemm_columns_any)(
      mr, g->vectors, g->panel, base, g->koff, g->kc, g->t + (q - g->q_begin) * 64, g->bias,
      g->accumulate);
  }
}

// MARK: - Sums out of the lanes

/// y[channel * ldy + q] = t[q * t_stride + channel] (+ y when adding), clamped: blocks of
/// 16 positions × 16 channels transposed in registers.
void GC_ISA(gc_gemm_transpose)(
  const float *t, int64_t t_stride, int64_t positions, int64_t channels, float *y, int64_t ldy,
  const float *clamp, int32_t add, int32_t activation) {
  for (int64_t q0 = 0; q0 < positions; q0 += 16) {
    const int64_t nq = positions - q0 < 16 ? positions - q0 : 16;
    for (int64_t c0 = 0; c0 < channels; c0 += 16) {
      const int64_t nc = channels - c0 < 16 ? channels - c0 : 16;
      gc_v16 v[16];
#pragma clang loop unroll(full)
      for (int i = 0; i < 16; i++)
        v[i] = i < nq ? gc_load_first(t + (q0 + i) * t_stride + c0, nc) : gc_splat(0);
      gc_transpose16(v);
#pragma clang loop unroll(full)
      for (int j = 0; j < 16; j++) {
        if (j >= nc) continue;
        float *out = y + (c0 + j) * ldy + q0;
        gc_v16 value = add ? v[j] + gc_load_first(out, nq) : v[j];
        if (clamp) value = gc_clamp(value, clamp);
        if (activation >= 0) value = act_apply(activation, value);
        gc_store_first(out, value, nq);
      }
    }
  }
}

// MARK: - Input preparation

#ifndef GC_GEMM_ROW_TYPE
#define GC_GEMM_ROW_TYPE
/// A piece of one phase-plane row: n positions written at offset `at` of a plane; those in
/// [lo, hi) copy x[source + i * stride_w] of a channel, the others are zero.
typedef struct gc_gemm_row {
  int64_t at, n, lo, hi, source;
} gc_gemm_row;
/// Rows described at a time.
#define GC_GEMM_ROWS 64
#endif

/// d[0 ..< n] = s[0 ..< n].
static inline __attribute__((always_inline)) void GC_ISA(gemm_copy)(
  float *restrict d, const float *restrict s, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) gc_store(d + i, gc_load(s + i));
  if (i < n) gc_store_first(d + i, gc_load_first(s + i, n - i), n - i);
}

/// d[0 ..< n] = s[0], s[2], ... s[2 (n - 1)], reading s[0 ..< available] at most.
static inline __attribute__((always_inline)) void GC_ISA(gemm_copy_even)(
  float *restrict d, const float *restrict s, int64_t n, int64_t available) {
  int64_t i = 0;
  for (; i + 16 <= n && 2 * i + 32 <= available; i += 16) {
    gc_v16 low = gc_load(s + 2 * i), high = gc_load(s + 2 * i + 16);
    gc_store(d + i, __builtin_shufflevector(low, high, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20,
                                            22, 24, 26, 28, 30));
  }
  for (; i < n; i++) d[i] = s[2 * i];
}

/// d[0 ..< n] = 0.
static inline __attribute__((always_inline)) void GC_ISA(gemm_zero)(float *d, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) gc_store(d + i, gc_splat(0));
  for (; i < n; i++) d[i] = 0;
}

void GC_ISA(gc_gemm_prepare)(const gc_gemm_prepare_args *g) {
  const int64_t xd = g->x_size[0], xh = g->x_size[1], xw = g->x_size[2];
  const int64_t sw = g->stride[2];
  const int64_t phases = g->phase_count[0] * g->phase_count[1] * g->phase_count[2];
  const int64_t end = g->f_begin + g->length;
  const int64_t plane = xd * xh * xw;
  gc_gemm_row rows[GC_GEMM_ROWS];
  for (int64_t pd = 0; pd < g->phase_count[0]; pd++) {
    for (int64_t ph = 0; ph < g->phase_count[1]; ph++) {
      for (int64_t pw = 0; pw < g->phase_count[2]; pw++) {
        const int64_t phase = (pd * g->phase_count[1] + ph) * g->phase_count[2] + pw;
        const int64_t shift = g->phase_values[2][pw] - g->pad[2];
        int64_t f = g->f_begin;
        int64_t c = f % g->e_w, r = (f / g->e_w) % g->e_h, z = f / g->e_w / g->e_h;
        while (f < end) {
          // Describe up to GC_GEMM_ROWS row pieces, then fill them for every channel.
          int count = 0;
          const int64_t first = f;
          while (f < end && count < GC_GEMM_ROWS) {
            gc_gemm_row *row = &rows[count++];
            int64_t n = g->e_w - c < end - f ? g->e_w - c : end - f;
            int64_t iz = z * g->stride[0] + g->phase_values[0][pd] - g->pad[0];
            int64_t iy = r * g->stride[1] + g->phase_values[1][ph] - g->pad[1];
            row->at = f - first;
            row->n = n;
            row->lo = row->hi = 0;
            row->source = 0;
            if (iz >= 0 && iz < xd && iy >= 0 && iy < xh) {
              // Position c + i reads column (c + i) * sw + shift: inside for i in [lo, hi).
              int64_t base = c * sw + shift;
              int64_t lo = base >= 0 ? 0 : (-base + sw - 1) / sw;
              int64_t hi = xw - base <= 0 ? 0 : (xw - base + sw - 1) / sw;
              if (lo > n) lo = n;
              if (hi > n) hi = n;
              if (hi < lo) hi = lo;
              row->lo = lo;
              row->hi = hi;
              row->source = (iz * xh + iy) * xw + base;
            }
            f += n;
            c += n;
            if (c == g->e_w) {
              c = 0;
              if (++r == g->e_h) {
                r = 0;
                z++;
              }
            }
          }
          for (int64_t channel = 0; channel < g->channels; channel++) {
            const float *x = g->x + channel * g->x_channel_stride;
            float *d = g->dst + (channel * phases + phase) * g->block_len + (first - g->f_begin);
            for (int i = 0; i < count; i++) {
              const gc_gemm_row *row = &rows[i];
              float *out = d + row->at;
              const float *in = x + (row->source + row->lo * sw);
              GC_ISA(gemm_zero)(out, row->lo);
              if (sw == 1) {
                GC_ISA(gemm_copy)(out + row->lo, in, row->hi - row->lo);
              } else if (sw == 2) {
                GC_ISA(gemm_copy_even)(out + row->lo, in, row->hi - row->lo, x + plane - in);
              } else {
                for (int64_t j = 0; j < row->hi - row->lo; j++) out[row->lo + j] = in[j * sw];
              }
              GC_ISA(gemm_zero)(out + row->hi, row->n - row->hi);
            }
          }
        }
      }
    }
  }
}
