// The weight-gradient matrix product (see include/gc_wgemm.h): microkernels of 6 or 8 rows
// of C (input channel and tap) × 1 to 4 vectors of 16 output channels, 24 accumulators at
// most, reducing over the positions of a block; the tile loop; and the packing of dy.
// Included once per instruction set with GC_ISA defined.
#include "gc_wgemm.h"
#include "avx2_tile.h"

#ifndef GC_WGEMM_FAMILY_TYPES
#define GC_WGEMM_FAMILY_TYPES
/// Rows per microkernel for nv vectors: 6 × 4 and 8 × 3 accumulators (24), 8 × 2 and 8 × 1.
/// Taller tiles for fewer vectors measured no faster: each row's source pointer takes a
/// general register (past 10 rows they spill), and 8 divides more channel counts than 10.
#define GC_WGEMM_MR(nv) ((nv) == 4 ? 6 : GC_WGEMM_MR_MAX)
#endif

// MARK: - Microkernel

/// c[i * ldc + 16 j ...] (+)= sum over p < n of src[koff[i] + p] * a[p * lda + 16 j ...] for
/// rows i < mr and vectors j < nv (added to c when accumulating); mr and nv are constant in
/// every call, so the sums stay in registers.
static inline __attribute__((always_inline)) void GC_ISA(wgemm_kernel)(
  const int mr, const int nv, const float *restrict a, int64_t lda, const float *restrict src,
  const int64_t *restrict koff, int64_t n, float *restrict c, int64_t ldc, int accumulate) {
#if defined(GC_VECTOR_AVX2)
  const float *rows[GC_WGEMM_MR_MAX];
#pragma clang loop unroll(full)
  for (int i = 0; i < GC_WGEMM_MR_MAX; i++) rows[i] = i < mr ? src + koff[i] : src;
  gc_avx2_tiles(mr, nv, rows, NULL, 1, a, NULL, lda, n, c, ldc, accumulate, NULL);
#else
  gc_v16 acc[GC_WGEMM_MR_MAX][4];
  const float *row[GC_WGEMM_MR_MAX];
#pragma clang loop unroll(full)
  for (int i = 0; i < GC_WGEMM_MR_MAX; i++) {
    if (i >= mr) continue;
    row[i] = src + koff[i];
#pragma clang loop unroll(full)
    for (int j = 0; j < 4; j++)
      if (j < nv) acc[i][j] = accumulate ? gc_load(c + i * ldc + 16 * j) : gc_splat(0);
  }
  for (int64_t p = 0; p < n; p++) {
    const float *ap = a + p * lda;
    gc_v16 v[4];
#pragma clang loop unroll(full)
    for (int j = 0; j < 4; j++) v[j] = j < nv ? gc_load(ap + 16 * j) : gc_splat(0);
#pragma clang loop unroll(full)
    for (int i = 0; i < GC_WGEMM_MR_MAX; i++) {
      if (i >= mr) continue;
      gc_v16 b = gc_broadcast(row[i] + p);
#pragma clang loop unroll(full)
      for (int j = 0; j < 4; j++)
        if (j < nv) acc[i][j] += b * v[j];
    }
  }
#pragma clang loop unroll(full)
  for (int i = 0; i < GC_WGEMM_MR_MAX; i++) {
#pragma clang loop unroll(full)
    for (int j = 0; j < 4; j++)
      if (i < mr && j < nv) gc_store(c + i * ldc + 16 * j, acc[i][j]);
  }
#endif
}

/// The microkernel for nv in 1...4 vectors, each height compiled apart.
static void GC_ISA(wgemm_kernel_any)(
  int nv, const float *restrict a, int64_t lda, const float *restrict src,
  const int64_t *restrict koff, int64_t n, float *restrict c, int64_t ldc, int accumulate) {
#define GC_WGEMM_CASE(NV)                                                               \
  case NV:                                                                             \
    GC_ISA(wgemm_kernel)(GC_WGEMM_MR(NV), NV, a, lda, src, koff, n, c, ldc, accumulate); \
    break;
  switch (nv) {
    GC_WGEMM_CASE(4)
    GC_WGEMM_CASE(3)
    GC_WGEMM_CASE(2)
    GC_WGEMM_CASE(1)
    default: break;
  }
#undef GC_WGEMM_CASE
}

// MARK: - Tile loop

void GC_ISA(gc_wgemm_tiles)(const gc_wgemm_tiles_args *t) {
  // The vectors in blocks of at most 4, as even as possible (5 → 3 + 2, 9 → 3 + 3 + 3).
  const int64_t blocks = (t->vectors + 3) / 4;
  for (int64_t p0 = 0; p0 < t->positions; p0 += t->block) {
    int64_t n = t->positions - p0 < t->block ? t->positions - p0 : t->block;
    for (int64_t b = 0; b < blocks; b++) {
      int64_t v0 = t->vectors * b / blocks;
      int nv = (int)(t->vectors * (b + 1) / blocks - v0);
      int64_t mr = GC_WGEMM_MR(nv);
      for (int64_t k0 = 0; k0 < t->rows; k0 += mr) {
        GC_ISA(wgemm_kernel_any)(
          nv, t->a + p0 * t->lda + 16 * v0, t->lda, t->src + p0, t->koff + k0, n,
          t->c + k0 * t->ldc + 16 * v0, t->ldc, p0 > 0 || t->accumulate);
      }
    }
  }
}

// MARK: - Packing dy

void GC_ISA(gc_wgemm_pack)(const gc_wgemm_pack_args *g) {
  const int64_t lda = g->lda, channels = g->channels, lanes = g->lanes;
  const int64_t stride = g->dy_channel_stride;
  int64_t p = g->p_begin;
  const int64_t end = g->p_begin + g->count;
  int64_t c = p % g->e_w, rows = p / g->e_w;
  int64_t r = rows % g->e_h, z = rows / g->e_h;
  while (p < end) {
    // A run of positions in one compute row: [c, c + n), output positions up to y_w.
    int64_t n = g->e_w - c < end - p ? g->e_w - c : end - p;
    int64_t valid = r < g->y_h ? (g->y_w - c < n ? g->y_w - c : n) : 0;
    if (valid < 0) valid = 0;
    float *dst = g->a + (p - g->p_begin) * lda;
    const float *src = g->dy + (z * g->y_h + r) * g->y_w + c;
    // 16 positions × 16 channels at a time, transposed in registers; channels past the
    // last are loaded as zeros, and fill the lanes up to `lanes`.
    for (int64_t j = 0; j < valid; j += 16) {
      int64_t m = valid - j < 16 ? valid - j : 16;
#if defined(GC_VECTOR_AVX2)
      // Whole blocks as four 8 × 8 transposes: the 16 × 16 one spills half its 32 vectors
      // on AVX2's 16 registers. The sums add the positions in the same order.
      if (m == 16) {
        for (int64_t o = 0; o < lanes; o += 16) {
#pragma clang loop unroll(full)
          for (int h = 0; h < 16; h += 8) {
            gc_v8 total = {0};
#pragma clang loop unroll(full)
            for (int q = 0; q < 16; q += 8) {
              gc_v8 v[8];
#pragma clang loop unroll(full)
              for (int i = 0; i < 8; i++) {
                if (o + h + i < channels)
                  memcpy(&v[i], src + (o + h + i) * stride + j + q, sizeof v[i]);
                else
                  v[i] = (gc_v8){0};
              }
              gc_transpose8(v);
#pragma clang loop unroll(full)
              for (int t = 0; t < 8; t++) {
                memcpy(dst + (j + q + t) * lda + o + h, &v[t], sizeof v[t]);
                total += v[t];
              }
            }
            if (g->sums != NULL) {
              gc_v8 sum;
              memcpy(&sum, g->sums + o + h, sizeof sum);
              sum += total;
              memcpy(g->sums + o + h, &sum, sizeof sum);
            }
          }
        }
        continue;
      }
#endif
      for (int64_t o = 0; o < lanes; o += 16) {
        gc_v16 v[16];
#pragma clang loop unroll(full)
        for (int i = 0; i < 16; i++)
          v[i] = o + i < channels ? gc_load_first(src + (o + i) * stride + j, m)
                                  : gc_splat(0);
        gc_transpose16(v);
        // Constant indices only, so that v stays in registers.
#pragma clang loop unroll(full)
        for (int t = 0; t < 16; t++)
          if (t < m) gc_store(dst + (j + t) * lda + o, v[t]);
        if (g->sums != NULL) {  // positions past m are zero
#pragma clang loop unroll(full)
          for (int t = 1; t < 16; t++) v[0] += v[t];
          gc_store(g->sums + o, gc_load(g->sums + o) + v[0]);
        }
      }
    }
    for (int64_t j = valid; j < n; j++) {
      for (int64_t o = 0; o < lanes; o += 16) gc_store(dst + j * lda + o, gc_splat(0));
    }
    p += n;
    c += n;
    if (c == g->e_w) {
      c = 0;
      if (++r == g->e_h) {
        r = 0;
        z++;
      }
    }
  }
}

// MARK: - Unpacking the sums


void GC_ISA(gc_wgemm_unpack)(const gc_wgemm_unpack_args *g) {
  for (int64_t k = 0; k < g->rows; k += 16) {
    int64_t m = g->rows - k < 16 ? g->rows - k : 16;
    for (int64_t o = 0; o < g->channels; o += 16) {
      gc_v16 v[16];
#pragma clang loop unroll(full)
      for (int i = 0; i < 16; i++)
        v[i] = i < m ? gc_load(g->c + (k + i) * g->ldc + o) : gc_splat(0);
      gc_transpose16(v);
#pragma clang loop unroll(full)
      for (int t = 0; t < 16; t++)
        if (o + t < g->channels) gc_store_first(g->dw + (o + t) * g->ldw + k, v[t], m);
    }
  }
}
