// The weight-gradient matrix product (see include/gc_wgemm.h): microkernels of 6 to 10 rows
// of C (input channel and tap) × 1 to 4 vectors of 16 output channels, 24 accumulators at
// most, reducing over the positions of a block; the tile loop; and the packing of dy.
// Included once per instruction set with GC_ISA defined.
#include "gc_wgemm.h"

#ifndef GC_WGEMM_FAMILY_TYPES
#define GC_WGEMM_FAMILY_TYPES
/// Rows per microkernel for nv vectors: 4 → 6 × 4, 3 → 8 × 3 accumulators (24), 2 → 10 × 2,
/// 1 → 10 × 1: each row's source pointer takes a general register, and past 10 rows
/// (with the loop's own 4) they spill and cost a reload per position.
#define GC_WGEMM_MR(nv) ((nv) == 4 ? 6 : (nv) == 3 ? 8 : GC_WGEMM_MR_MAX)
#endif

// MARK: - Microkernel

/// c[i * ldc + 16 j ...] += sum over p < n of src[koff[i] + p] * a[p * lda + 16 j ...] for
/// rows i < mr and vectors j < nv; both constant in every call, so the sums stay in registers.
static inline __attribute__((always_inline)) void GC_ISA(wgemm_kernel)(
  const int mr, const int nv, const float *restrict a, int64_t lda, const float *restrict src,
  const int64_t *restrict koff, int64_t n, float *restrict c, int64_t ldc) {
  gc_v16 acc[GC_WGEMM_MR_MAX][4];
  const float *row[GC_WGEMM_MR_MAX];
#pragma clang loop unroll(full)
  for (int i = 0; i < GC_WGEMM_MR_MAX; i++) {
    if (i >= mr) continue;
    row[i] = src + koff[i];
#pragma clang loop unroll(full)
    for (int j = 0; j < 4; j++)
      if (j < nv) acc[i][j] = gc_load(c + i * ldc + 16 * j);
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
}

/// The microkernel for nv in 1...4 vectors, each height compiled apart.
static void GC_ISA(wgemm_kernel_any)(
  int nv, const float *restrict a, int64_t lda, const float *restrict src,
  const int64_t *restrict koff, int64_t n, float *restrict c, int64_t ldc) {
  switch (nv) {
    case 4: GC_ISA(wgemm_kernel)(GC_WGEMM_MR(4), 4, a, lda, src, koff, n, c, ldc); break;
    case 3: GC_ISA(wgemm_kernel)(GC_WGEMM_MR(3), 3, a, lda, src, koff, n, c, ldc); break;
    case 2: GC_ISA(wgemm_kernel)(GC_WGEMM_MR(2), 2, a, lda, src, koff, n, c, ldc); break;
    case 1: GC_ISA(wgemm_kernel)(GC_WGEMM_MR(1), 1, a, lda, src, koff, n, c, ldc); break;
    default: break;
  }
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
          t->c + k0 * t->ldc + 16 * v0, t->ldc);
      }
    }
  }
}

// MARK: - Packing dy

void GC_ISA(gc_wgemm_pack)(const gc_wgemm_pack_args *g) {
  const int64_t lda = g->lda, channels = g->channels, lanes = g->lanes;
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
    for (int64_t j = 0; j < valid; j++) {
      float *d = dst + j * lda;
      for (int64_t o = 0; o < channels; o++) d[o] = src[o * g->dy_channel_stride + j];
      for (int64_t o = channels; o < lanes; o++) d[o] = 0;
    }
    for (int64_t j = valid; j < n; j++) {
      for (int64_t o = 0; o < lanes; o++) dst[j * lda + o] = 0;
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
  if (g->sums == NULL) return;
  for (int64_t v = 0; v < lanes; v += 16) {
    gc_v16 s0 = gc_splat(0), s1 = gc_splat(0);
    int64_t j = 0;
    for (; j + 2 <= g->count; j += 2) {
      s0 += gc_load(g->a + j * lda + v);
      s1 += gc_load(g->a + (j + 1) * lda + v);
    }
    if (j < g->count) s0 += gc_load(g->a + j * lda + v);
    gc_store(g->sums + v, gc_load(g->sums + v) + (s0 + s1));
  }
}
