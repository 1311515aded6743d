// Broadcast sub-tiles for AVX2, whose 16 ymm registers hold a quarter of what AVX-512's 32
// zmm registers hold. A sub-tile of R rows × V vectors of 8 keeps R · V accumulators, plus
// min(R, V) operands held across the other loop and one loaded as it is used: 6 × 2 and
// 2 × 6 take 15 registers, where 4 × 3 takes 16 and spills an accumulator on every step of
// K. The families' AVX-512 tiles of 6 or 8 rows × 48 or 64 columns run as several of these
// in their AVX2 builds.
#ifndef GC_AVX2_TILE_H
#define GC_AVX2_TILE_H
#if defined(GC_VECTOR_AVX2)
#include <immintrin.h>

/// c[i * ldc + 8 v ...] = start + sum over k < n of row[i][bk] · a[ak + 8 v ...] for rows
/// i < rows and vectors v < vecs (rows ≤ 6, vecs ≤ 6, rows · vecs ≤ 12), where bk is
/// b_off[k] (or k · b_step without a table) and ak is a_off[k] (or k · lda). The start is c
/// itself when accumulating, else bias[8 v ...] when given, else zero. rows and vecs are
/// constants in every call. With more rows than vectors, the vectors of a are held and each
/// row's broadcast is used as it is made; otherwise the broadcasts are held and each vector
/// used as it is loaded.
static inline __attribute__((always_inline)) void gc_avx2_tile(
  const int rows, const int vecs, const float *const *row, const int64_t *restrict b_off,
  int64_t b_step, const float *restrict a, const int64_t *restrict a_off, int64_t lda,
  int64_t n, float *restrict c, int64_t ldc, int accumulate, const float *bias) {
  __m256 acc[6][6];
  const float *r[6];
#pragma clang loop unroll(full)
  for (int i = 0; i < 6; i++) {
    r[i] = row[i < rows ? i : 0];
#pragma clang loop unroll(full)
    for (int v = 0; v < 6; v++) {
      if (i >= rows || v >= vecs) continue;
      acc[i][v] = accumulate ? _mm256_loadu_ps(c + i * ldc + 8 * v)
                  : bias     ? _mm256_loadu_ps(bias + 8 * v)
                             : _mm256_setzero_ps();
    }
  }
  for (int64_t k = 0; k < n; k++) {
    const int64_t bk = b_off ? b_off[k] : k * b_step;
    const float *ak = a + (a_off ? a_off[k] : k * lda);
    if (rows > vecs) {
      __m256 w[6];
#pragma clang loop unroll(full)
      for (int v = 0; v < 6; v++) w[v] = v < vecs ? _mm256_loadu_ps(ak + 8 * v) : w[0];
#pragma clang loop unroll(full)
      for (int i = 0; i < 6; i++) {
        if (i >= rows) continue;
        const __m256 x = _mm256_broadcast_ss(r[i] + bk);
#pragma clang loop unroll(full)
        for (int v = 0; v < 6; v++)
          if (v < vecs) acc[i][v] = _mm256_fmadd_ps(x, w[v], acc[i][v]);
      }
    } else {
      __m256 x[6];
#pragma clang loop unroll(full)
      for (int i = 0; i < 6; i++) x[i] = i < rows ? _mm256_broadcast_ss(r[i] + bk) : x[0];
#pragma clang loop unroll(full)
      for (int v = 0; v < 6; v++) {
        if (v >= vecs) continue;
        const __m256 w = _mm256_loadu_ps(ak + 8 * v);
#pragma clang loop unroll(full)
        for (int i = 0; i < 6; i++)
          if (i < rows) acc[i][v] = _mm256_fmadd_ps(x[i], w, acc[i][v]);
      }
    }
  }
#pragma clang loop unroll(full)
  for (int i = 0; i < 6; i++)
#pragma clang loop unroll(full)
    for (int v = 0; v < 6; v++)
      if (i < rows && v < vecs) _mm256_storeu_ps(c + i * ldc + 8 * v, acc[i][v]);
}

/// The vectors of 8 a sub-tile of `rows` rows takes: the most that fit 15 registers with
/// the held operands (6 for 1 or 2 rows, 3 for 3, 2 for 4 to 6).
#define GC_AVX2_TILE_VECS(rows) ((rows) <= 2 ? 6 : (rows) == 3 ? 3 : 2)

/// An mr × (16 · nv) tile (mr ≤ 8, nv ≤ 4; constants) as sub-tiles: rows [0, 6) and then
/// the rest, each row band in vectors of 8 as many at a time as `GC_AVX2_TILE_VECS` allows.
/// Rows row[0 ..< mr], the rest as in `gc_avx2_tile`.
static inline __attribute__((always_inline)) void gc_avx2_tiles(
  const int mr, const int nv, const float *const *row, const int64_t *restrict b_off,
  int64_t b_step, const float *restrict a, const int64_t *restrict a_off, int64_t lda,
  int64_t n, float *restrict c, int64_t ldc, int accumulate, const float *bias) {
#pragma clang loop unroll(full)
  for (int i0 = 0; i0 < 8; i0 += 6) {
    if (i0 >= mr) continue;
    const int R = mr - i0 < 6 ? mr - i0 : 6, V = GC_AVX2_TILE_VECS(R);
#pragma clang loop unroll(full)
    for (int v0 = 0; v0 < 8; v0 += V) {
      if (v0 >= 2 * nv) continue;
      gc_avx2_tile(
        R, 2 * nv - v0 < V ? 2 * nv - v0 : V, row + i0, b_off, b_step, a + 8 * v0, a_off, lda, n,
        c + i0 * ldc + 8 * v0, ldc, accumulate, bias ? bias + 8 * v0 : NULL);
    }
  }
}
#endif
#endif
