// The matrix-product family (see include/gc_matmul.h): an 8 × 48 microkernel (8 rows of A
// broadcast × 3 vectors of a packed B panel, 24 accumulators), compiled apart for each row
// count of the last block, and the loop over panels, K blocks and row blocks that calls it.
// Included once per instruction set with GC_ISA defined.
#include "gc_matmul.h"
#include "activation_math.h"
#include "avx2_tile.h"
#include <string.h>

#define GC_MATMUL_NV (GC_MATMUL_NR / 16)

// MARK: - Partial loads and stores

// MARK: - Microkernel

/// Rows [m0, m0 + mr) of panel p over the K block [k0, k0 + kc):
/// acc[i][j] = Σ_k A[m0 + i, k] · panel[k, 16 j ...], started from zero (first K block) or
/// from Y (a later one), then stored to Y: as it is, or on the last K block as
/// f(alpha · acc + beta · C), f the activation. mr is a constant in every call, so the accumulators stay in
/// registers; columns past n are computed from the panel's zeros and not stored. With
/// `prefetch` (the first row block of a sweep), it also prefetches the panel data read next,
/// which follows this K block in memory: a B streamed from memory arrives ahead of its sweep.
static inline __attribute__((always_inline)) void GC_ISA(matmul_kernel)(
  const int mr, const int prefetch, const gc_matmul_args *g, int64_t m0, int64_t p, int64_t k0,
  int64_t kc) {
  const int64_t column = p * GC_MATMUL_NR, lda = g->lda, ldy = g->ldy;
  const int first = k0 == 0, last = k0 + kc == g->k;
  int count[GC_MATMUL_NV];  // columns of Y in each vector
  for (int j = 0; j < GC_MATMUL_NV; j++) {
    int64_t left = g->n - column - 16 * j;
    count[j] = left >= 16 ? 16 : left > 0 ? (int)left : 0;
  }
  const float *restrict b = g->packed + (p * g->k + k0) * GC_MATMUL_NR;
  const float *restrict a = g->a + m0 * lda + k0;
  float *restrict y = g->y + m0 * ldy + column;

  gc_v16 acc[GC_MATMUL_MR][GC_MATMUL_NV];
#if defined(GC_VECTOR_AVX2)
  // 16 registers: the products in sub-tiles of 6 rows × 16 columns and 2 × 48, through L1.
  (void)prefetch;
  float products[GC_MATMUL_MR * GC_MATMUL_NR] __attribute__((aligned(64)));
  const float *rows[GC_MATMUL_MR];
#pragma clang loop unroll(full)
  for (int i = 0; i < GC_MATMUL_MR; i++) rows[i] = i < mr ? a + i * lda : a;
  gc_avx2_tiles(
    mr, GC_MATMUL_NV, rows, NULL, 1, b, NULL, GC_MATMUL_NR, kc, products, GC_MATMUL_NR,
    0, NULL);
#endif
#pragma clang loop unroll(full)
  for (int i = 0; i < GC_MATMUL_MR; i++) {
#pragma clang loop unroll(full)
    for (int j = 0; j < GC_MATMUL_NV; j++) {
      if (i >= mr) continue;
      acc[i][j] = first || count[j] == 0 ? gc_splat(0)
                                         : gc_load_first(y + i * ldy + 16 * j, count[j]);
#if defined(GC_VECTOR_AVX2)
      acc[i][j] += gc_load(products + i * GC_MATMUL_NR + 16 * j);
#endif
    }
  }
#if !defined(GC_VECTOR_AVX2)
  for (int64_t k = 0; k < kc; k++) {
    gc_v16 bk[GC_MATMUL_NV];
#pragma clang loop unroll(full)
    for (int j = 0; j < GC_MATMUL_NV; j++) {
      bk[j] = gc_load(b + k * GC_MATMUL_NR + 16 * j);
      if (prefetch) __builtin_prefetch(b + (kc + k) * GC_MATMUL_NR + 16 * j);
    }
#pragma clang loop unroll(full)
    for (int i = 0; i < GC_MATMUL_MR; i++) {
      if (i >= mr) continue;
      const gc_v16 ai = gc_broadcast(a + i * lda + k);
#pragma clang loop unroll(full)
      for (int j = 0; j < GC_MATMUL_NV; j++) acc[i][j] += ai * bk[j];
    }
  }
#endif
  if (last && g->c && g->c_row == 0 && g->c_col == 1 && g->alpha == 1.0f) {
    // A row added to every row (a linear layer's bias): read once, not once per row.
    gc_v16 row[GC_MATMUL_NV];
#pragma clang loop unroll(full)
    for (int j = 0; j < GC_MATMUL_NV; j++)
      row[j] = count[j] ? g->beta * gc_load_first(g->c + column + 16 * j, count[j]) : gc_splat(0);
#pragma clang loop unroll(full)
    for (int i = 0; i < GC_MATMUL_MR; i++) {
#pragma clang loop unroll(full)
      for (int j = 0; j < GC_MATMUL_NV; j++) {
        if (i >= mr || count[j] == 0) continue;
        gc_v16 v = acc[i][j] + row[j];
        if (g->activation >= 0) v = act_apply(g->activation, v);
        gc_store_first(y + i * ldy + 16 * j, v, count[j]);
      }
    }
    return;
  }
#pragma clang loop unroll(full)
  for (int i = 0; i < GC_MATMUL_MR; i++) {
#pragma clang loop unroll(full)
    for (int j = 0; j < GC_MATMUL_NV; j++) {
      if (i >= mr || count[j] == 0) continue;
      gc_v16 v = acc[i][j];
      if (last) {
        v *= g->alpha;
        if (g->c) {
          const float *c = g->c + (m0 + i) * g->c_row + (column + 16 * j) * g->c_col;
          v += g->beta * (g->c_col ? gc_load_first(c, count[j]) : gc_broadcast(c));
        }
        if (g->activation >= 0) v = act_apply(g->activation, v);
      }
      gc_store_first(y + i * ldy + 16 * j, v, count[j]);
    }
  }
}

#define GC_MATMUL_CASE(MR) \
  case MR: GC_ISA(matmul_kernel)(MR, 0, g, m0, p, k0, kc); break;

/// The microkernel for mr in 1...8 rows, each row count compiled apart; prefetching with 8.
static void GC_ISA(matmul_kernel_any)(
  int mr, int prefetch, const gc_matmul_args *g, int64_t m0, int64_t p, int64_t k0, int64_t kc) {
  if (prefetch && mr == GC_MATMUL_MR) {
    GC_ISA(matmul_kernel)(GC_MATMUL_MR, 1, g, m0, p, k0, kc);
    return;
  }
  switch (mr) {
    GC_MATMUL_CASE(8) GC_MATMUL_CASE(7) GC_MATMUL_CASE(6) GC_MATMUL_CASE(5)
    GC_MATMUL_CASE(4) GC_MATMUL_CASE(3) GC_MATMUL_CASE(2) GC_MATMUL_CASE(1)
    default: break;
  }
}
#undef GC_MATMUL_CASE

// MARK: - Loop

/// Per pass of rows (their A, about GC_MATMUL_PASS_FLOATS, stays in L2), per panel, per K
/// block, per 8 rows: the panel's K block stays in L1 while the row blocks sweep it.
/// A pass has 96 rows at least: each pass reads all of B once, which costs less than reading
/// A from further away once per panel only when a pass has more than 32 rows.
void GC_ISA(gc_matmul)(const gc_matmul_args *g) {
  const int64_t rows = g->m_end - g->m_begin;
  int64_t pass = GC_MATMUL_PASS_FLOATS / g->k;
  if (pass < 96) pass = 96;
  const int64_t passes = (rows + pass - 1) / pass;  // then balanced, in whole row blocks
  pass = ((rows + passes - 1) / passes + GC_MATMUL_MR - 1) / GC_MATMUL_MR * GC_MATMUL_MR;
  for (int64_t m1 = g->m_begin; m1 < g->m_end; m1 += pass) {
    const int64_t m2 = g->m_end - m1 < pass ? g->m_end : m1 + pass;
    for (int64_t p = g->p_begin; p < g->p_end; p++) {
      for (int64_t k0 = 0; k0 < g->k; k0 += GC_MATMUL_KC) {
        const int64_t kc = g->k - k0 < GC_MATMUL_KC ? g->k - k0 : GC_MATMUL_KC;
        for (int64_t m0 = m1; m0 < m2; m0 += GC_MATMUL_MR) {
          const int mr = m2 - m0 < GC_MATMUL_MR ? (int)(m2 - m0) : GC_MATMUL_MR;
          GC_ISA(matmul_kernel_any)(mr, m0 == m1, g, m0, p, k0, kc);
        }
      }
    }
  }
}
