// Direct convolution (depthwise and few-channel grouped), NCDHW, vectorised along output
// width: the body is written once here and compiled per instruction set (direct_avx512.c,
// direct_generic.c); direct.c picks one at run time. See include/gc_direct.h for the plan.
//
// Loop order for one work item (image n, group g, output depth oz, band of output rows):
//   stage: for each input channel ci of the group, kernel depth kz, staged row t, phase f:
//          copy input row (y0 * sh - ph + t) of depth (oz * sd + kz * dd - pd), columns
//          f, f + sw, ... into staged row (ci, kz, f, t) at shift + j0[f] (zeros elsewhere);
//   for each block of ocb output channels, column chunk (vecs vectors of 16), block of
//   `rows` output rows: accumulate, from the bias, acc[o][j][v] over the taps; store.
// Taps tiles read every tap through an offset table (any geometry); sliding tiles (2-D
// depthwise k x k, row dilation 1) load each staged row once per column tap and feed every
// tile row that reads it.
//
// Names in the kernels: p the plan; s the staged rows of the band; L the staged pitch;
// acc[o][j][v] the accumulator of output channel o, output row j, columns 16v..16v+15 of
// the chunk.

// MARK: - The list of compiled tiles (shared with direct.c)

#ifndef GC_DIRECT_TILES
// X(kind, ocb, rows, vecs, k, sh); kind 0 = taps, 1 = sliding (k x k, row stride sh).
#define GC_DIRECT_TAPS_OCB(X, o) \
  X(0, o, 1, 1, 0, 0) X(0, o, 1, 2, 0, 0) X(0, o, 1, 3, 0, 0) X(0, o, 1, 4, 0, 0) \
  X(0, o, 1, 5, 0, 0) X(0, o, 1, 6, 0, 0) X(0, o, 2, 1, 0, 0) X(0, o, 2, 2, 0, 0) \
  X(0, o, 2, 3, 0, 0) X(0, o, 4, 1, 0, 0)
#define GC_DIRECT_SLIDING_K(X, k, sh) \
  X(1, 1, 4, 1, k, sh) X(1, 1, 4, 2, k, sh) X(1, 1, 4, 3, k, sh) X(1, 1, 4, 4, k, sh) \
  X(1, 1, 6, 4, k, sh) X(1, 1, 8, 1, k, sh) X(1, 1, 8, 2, k, sh) \
  X(1, 2, 2, 1, k, sh) X(1, 2, 2, 2, k, sh) X(1, 2, 2, 3, k, sh) X(1, 2, 2, 4, k, sh) \
  X(1, 2, 4, 1, k, sh) X(1, 2, 4, 2, k, sh) X(1, 2, 3, 4, k, sh)
#define GC_DIRECT_TILES(X) \
  GC_DIRECT_TAPS_OCB(X, 1) GC_DIRECT_TAPS_OCB(X, 2) GC_DIRECT_TAPS_OCB(X, 3) \
  GC_DIRECT_TAPS_OCB(X, 4) X(0, 1, 8, 1, 0, 0) X(0, 2, 8, 1, 0, 0) X(0, 1, 4, 2, 0, 0) \
  X(0, 2, 4, 2, 0, 0) X(0, 1, 4, 4, 0, 0) X(0, 1, 2, 6, 0, 0) \
  GC_DIRECT_SLIDING_K(X, 3, 1) GC_DIRECT_SLIDING_K(X, 3, 2) GC_DIRECT_SLIDING_K(X, 5, 1) \
  GC_DIRECT_SLIDING_K(X, 5, 2) GC_DIRECT_SLIDING_K(X, 7, 1) GC_DIRECT_SLIDING_K(X, 7, 2)
#endif

#ifdef GC_ISA
#include "CKernels.h"
#include "activation_math.h"

#define GC_INLINE static inline __attribute__((always_inline))

// MARK: - Broadcasts, partial loads and stores

#if defined(GC_DIRECT_AVX512)
/// Makes `v` final here: every FMA into an accumulator happens before any store of the tile.
/// Without it the compiler sinks the last FMAs of later accumulators between the (branching)
/// stores of earlier ones, keeping many input vectors alive and spilling them.
/// (Masked lanes of AVX-512 loads and stores below never fault.)
#define DIRECT_SETTLE(v) __asm__("" : "+v"(v))
#else
#define DIRECT_SETTLE(v) ((void)0)
#endif

/// s in every lane: one broadcast (gc_splat's `0 + s` costs an extra add, as -0 + 0 is +0).
GC_INLINE gc_v16 direct_splat(float s) {
  return (gc_v16){s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s};
}

#if !defined(GC_DIRECT_AVX512)
// n in 0...16 lanes; the rest are not touched (store) or zero (load).
GC_INLINE gc_v16 direct_load_n(const float *p, long n) { return gc_load_first(p, n); }
GC_INLINE void direct_store_n(float *p, gc_v16 v, long n) { gc_store_first(p, v, n); }
#endif

/// Masks of the columns of a vector that exist: lanes col..col+15 of a row `width` wide.
#if defined(GC_DIRECT_AVX512)
typedef __mmask16 direct_mask;
GC_INLINE direct_mask direct_columns(long col, long width) {
  const long n = width - col;
  return n >= 16 ? (direct_mask)0xffff : n <= 0 ? (direct_mask)0 : (direct_mask)((1u << n) - 1u);
}
GC_INLINE void direct_store_masked(float *p, gc_v16 v, direct_mask m) {
  _mm512_mask_storeu_ps(p, m, (__m512)v);
}
GC_INLINE gc_v16 direct_load_masked(const float *p, direct_mask m) {
  return (gc_v16)_mm512_maskz_loadu_ps(m, p);
}
#else
typedef long direct_mask;  // the number of columns to store
GC_INLINE direct_mask direct_columns(long col, long width) {
  const long n = width - col;
  return n >= 16 ? 16 : n <= 0 ? 0 : n;
}
GC_INLINE void direct_store_masked(float *p, gc_v16 v, direct_mask m) {
  if (m == 16) gc_store(p, v);
  else direct_store_n(p, v, m);
}
GC_INLINE gc_v16 direct_load_masked(const float *p, direct_mask m) {
  return m == 16 ? gc_load(p) : direct_load_n(p, m);
}
#endif

#if defined(GC_VECTOR_AVX2)
/// Stores the first m ≤ 8 columns of v (its first half).
GC_INLINE void direct_store_low(float *p, gc_v16 v, direct_mask m) {
  gc_store_lanes(p, gc_low(v), (unsigned)m);
}
#else
#define direct_store_low direct_store_masked
#endif

/// As `direct_store_masked` (`direct_store_low` when `low`), but whole vectors (halves with
/// AVX2) at aligned addresses go past the caches, by non-temporal stores: for outputs larger
/// than the last-level cache, which would otherwise be read into it before being written
/// and then evicted unread.
GC_INLINE void direct_stream(float *p, gc_v16 v, direct_mask m, const int low) {
#if defined(GC_DIRECT_AVX512)
  (void)low;
  if (m == (direct_mask)0xffff && ((uintptr_t)p & 63) == 0) _mm512_stream_ps(p, (__m512)v);
  else direct_store_masked(p, v, m);
#elif defined(GC_VECTOR_AVX2)
  if (m < 8 || ((uintptr_t)p & 31) != 0) {
    if (low) direct_store_low(p, v, m);
    else direct_store_masked(p, v, m);
    return;
  }
  _mm256_stream_ps(p, gc_low(v));
  if (low || m == 8) return;
  if (m == 16) _mm256_stream_ps(p + 8, gc_high(v));
  else gc_store_lanes(p + 8, gc_high(v), (unsigned)(m - 8));
#else
  (void)low;
  direct_store_masked(p, v, m);
#endif
}

/// Orders the non-temporal stores before what follows (the threads' join).
GC_INLINE void direct_stream_fence(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_sfence();
#endif
}

// MARK: - Staging

/// How one staged row is written: `full` whole vectors, then, if `tail`, a vector read under
/// `mask` and stored whole (when `whole`: the row has room, and the lanes past the interior
/// are zero, as the row's padding must be) or under `mask`. Whole stores matter: a load that
/// overlaps a masked store still in flight waits for it to reach the cache, and the tiles
/// read the staged rows right away. Worked out once per work item, not per row.
typedef struct {
  long full;
  int tail, whole;
  direct_mask mask;
} direct_row;

GC_INLINE direct_row direct_row_of(long n, int whole) {
  direct_row r;
  r.full = n / 16;
  r.tail = n % 16 != 0;
  r.whole = whole;
  r.mask = direct_columns(r.full * 16, n);
  return r;
}

GC_INLINE void direct_put_tail(float *d, gc_v16 v, direct_row r) {
  if (r.whole) gc_store(d, v);
  else direct_store_masked(d, v, r.mask);
}

/// Copies a row of input to a staged row.
GC_INLINE void direct_copy(float *d, const float *x, direct_row r) {
  for (long i = 0; i < r.full; i++) gc_store(d + 16 * i, gc_load(x + 16 * i));
  if (r.tail) direct_put_tail(d + 16 * r.full, direct_load_masked(x + 16 * r.full, r.mask), r);
}

/// Zeroes a staged row's interior.
GC_INLINE void direct_zero(float *d, direct_row r) {
  for (long i = 0; i < r.full; i++) gc_store(d + 16 * i, direct_splat(0));
  if (r.tail) direct_put_tail(d + 16 * r.full, direct_splat(0), r);
}

/// How a row of n input floats splits into even- and odd-indexed ones: `full` steps of 32
/// inputs, then the `rest` read under masks a and b; `even` and `odd` describe the outputs.
typedef struct {
  long full, rest;
  direct_mask a, b;
  direct_row even, odd;
} direct_split;

GC_INLINE direct_split direct_split_of(long n, int whole_even, int whole_odd) {
  direct_split r;
  r.full = n / 32;
  r.rest = n % 32;
  r.a = direct_columns(0, r.rest);
  r.b = direct_columns(16, r.rest);
  r.even = direct_row_of((n + 1) / 2, whole_even);
  r.odd = direct_row_of(n / 2, whole_odd);
  return r;
}

/// Splits a row of input into its even-indexed floats (to `even`) and odd-indexed ones.
GC_INLINE void direct_deinterleave2(float *even, float *odd, const float *x, direct_split r) {
  for (long i = 0; i < r.full; i++) {
    const gc_v16 a = gc_load(x + 32 * i), b = gc_load(x + 32 * i + 16);
    gc_store(even + 16 * i, __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                                    20, 22, 24, 26, 28, 30));
    gc_store(odd + 16 * i, __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21,
                                                   23, 25, 27, 29, 31));
  }
  if (r.rest > 0) {
    const long i = r.full;
    const gc_v16 a = direct_load_masked(x + 32 * i, r.a);
    const gc_v16 b = direct_load_masked(x + 32 * i + 16, r.b);
    direct_put_tail(even + 16 * i, __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16,
                                                           18, 20, 22, 24, 26, 28, 30), r.even);
    if (r.odd.tail)
      direct_put_tail(odd + 16 * i, __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17,
                                                            19, 21, 23, 25, 27, 29, 31), r.odd);
  }
}

/// The interior of phase f's staged rows: staged index shift + j0 + i holds input column
/// e + sw * i, for i in 0..<n. Every other staged element stays zero.
typedef struct { long j0, e, n; int whole; } direct_phase;

GC_INLINE direct_phase direct_phase_of(const gc_direct_plan *p, long f) {
  direct_phase r;
  const long sw = p->sw;
  r.j0 = p->pw > f ? (p->pw - f + sw - 1) / sw : 0;
  r.e = r.j0 * sw + f - p->pw;
  r.n = p->xw > r.e ? (p->xw - r.e + sw - 1) / sw : 0;
  // Whether the row's last vector fits whole: its lanes past n land in the row's padding.
  r.whole = p->shift + r.j0 + (r.n + 15) / 16 * 16 <= p->pitch;
  return r;
}

/// Stages the input rows that output rows y0... of depth oz read, for every channel of the
/// group and every kernel depth: `staged_rows` rows starting at input row y0 * sh - ph.
/// `ph` holds the interior of each phase (at most 16 phases are precomputed).
static void direct_stage(
  const gc_direct_plan *p, const direct_phase *ph, const float *x, float *s, long oz, long y0) {
  const long L = p->pitch, T = p->staged_rows, sw = p->sw, xw = p->xw, xh = p->xh;
  const long xplane = xh * xw;
  // Staged rows [lo, hi) lie inside the input; the others are zero.
  const long top = y0 * p->sh - p->ph;
  const long lo = top < 0 ? (-top < T ? -top : T) : 0;
  const long hi = xh - top < T ? (xh - top > lo ? xh - top : lo) : T;
  for (long ci = 0; ci < p->cin; ci++) {
    for (long kz = 0; kz < p->kd; kz++) {
      const long iz = oz * p->sd + kz * p->dd - p->pd;
      const int zin = iz >= 0 && iz < p->xd;
      const float *xc = x + (ci * p->xd + iz) * xplane + top * xw;
      float *sq = s + (ci * p->kd + kz) * p->plane + p->shift;
      const long first = zin ? lo : T, last = zin ? hi : T;
      for (long f = 0; f < sw; f++) {
        const direct_phase q = f < 16 ? ph[f] : direct_phase_of(p, f);
        float *d = sq + f * T * L + q.j0;
        const direct_row z = direct_row_of(q.n, q.whole);
        for (long t = 0; t < first; t++) direct_zero(d + t * L, z);
        for (long t = last; t < T; t++) direct_zero(d + t * L, z);
      }
      if (sw == 1) {
        float *d = sq + ph[0].j0;
        const direct_row row = direct_row_of(ph[0].n, ph[0].whole);
        for (long t = first; t < last; t++) direct_copy(d + t * L, xc + t * xw, row);
      } else if (sw == 2) {
        // Phase f takes the even input columns when e == 0, the odd ones when e == 1.
        float *d0 = sq + ph[0].j0, *d1 = sq + T * L + ph[1].j0;
        int w0 = ph[0].whole, w1 = ph[1].whole;
        if (ph[0].e != 0) {
          float *swap = d0; d0 = d1; d1 = swap;
          const int wswap = w0; w0 = w1; w1 = wswap;
        }
        const direct_split split = direct_split_of(xw, w0, w1);
        for (long t = first; t < last; t++)
          direct_deinterleave2(d0 + t * L, d1 + t * L, xc + t * xw, split);
      } else {
        for (long f = 0; f < sw; f++) {
          const direct_phase q = f < 16 ? ph[f] : direct_phase_of(p, f);
          float *d = sq + f * T * L + q.j0;
          for (long t = first; t < last; t++)
            for (long i = 0; i < q.n; i++) d[t * L + i] = xc[t * xw + q.e + sw * i];
        }
      }
    }
  }
}

// MARK: - Tiles

/// A tile kernel: output rows [0, nb) of one band, all column chunks, `noc` channels.
/// s: staged rows of the band; w: packed weights of the channel block; y: output of
/// (first channel of the block, first row of the band, column 0).
/// xr: the group's input (AVX-512 only, when the plan reads rows straight from it: see
/// direct_rows_tile), else NULL; y0: the band's first output row.
typedef void (*direct_tile_fn)(
  const gc_direct_plan *p, const float *s, const float *xr, long y0, const float *w,
  const float *bias, float *y, long noc, long nb);

/// The bias (or zero) of tile channel o.
GC_INLINE gc_v16 direct_bias(const float *bias, long o, long noc) {
  return direct_splat(bias != 0 && o < noc ? bias[o] : 0.0f);
}


/// Stores tile rows [0, nrows) of channels [0, noc) at y, columns col + 16 v under mask[v];
/// with LOW (AVX2: every column in the vectors' first halves) only the first halves, so that
/// nothing computes the second halves.
#define DIRECT_STORE_TILE(OCB, R, V, LOW)                                                   \
  do {                                                                                      \
    _Pragma("clang loop unroll(full)") for (int o = 0; o < OCB; o++)                        \
      _Pragma("clang loop unroll(full)") for (int j = 0; j < R; j++)                        \
        _Pragma("clang loop unroll(full)") for (int v = 0; v < V; v++)                      \
          DIRECT_SETTLE(acc[o][j][v]);                                                      \
    if (p->clamp)                                                                           \
      _Pragma("clang loop unroll(full)") for (int o = 0; o < OCB; o++)                      \
        _Pragma("clang loop unroll(full)") for (int j = 0; j < R; j++)                      \
          _Pragma("clang loop unroll(full)") for (int v = 0; v < V; v++)                    \
            acc[o][j][v] = gc_clamp(acc[o][j][v], p->clamp);                                \
    if (p->activation >= 0)                                                                 \
      _Pragma("clang loop unroll(full)") for (int o = 0; o < OCB; o++)                      \
        _Pragma("clang loop unroll(full)") for (int j = 0; j < R; j++)                      \
          _Pragma("clang loop unroll(full)") for (int v = 0; v < V; v++)                    \
            acc[o][j][v] = act_apply((int)p->activation, acc[o][j][v]);                     \
    if (p->stream) {                                                                        \
      DIRECT_STORE_ROWS(OCB, R, V, direct_stream(yr + 16 * v, acc[o][j][v], mask[v], LOW));  \
    } else if (LOW) {                                                                       \
      DIRECT_STORE_ROWS(OCB, R, V, direct_store_low(yr + 16 * v, acc[o][j][v], mask[v]));    \
    } else {                                                                                \
      DIRECT_STORE_ROWS(OCB, R, V, direct_store_masked(yr + 16 * v, acc[o][j][v], mask[v])); \
    }                                                                                       \
  } while (0)

/// STORE for every vector v of tile rows [0, nrows) of channels [0, noc), yr their row's
/// output. (A branch per store between streamed and cached stores cost the 3 × 3 depthwise
/// layer on 56 × 56 a tenth of its time with AVX2.)
#define DIRECT_STORE_ROWS(OCB, R, V, STORE)                                                 \
  _Pragma("clang loop unroll(full)") for (int o = 0; o < OCB; o++) {                        \
    if (o >= noc) break;                                                                    \
    _Pragma("clang loop unroll(full)") for (int j = 0; j < R; j++) {                        \
      if (j >= nrows) break;                                                                \
      float *yr = yt + o * yoc + j * yw + col;                                              \
      _Pragma("clang loop unroll(full)") for (int v = 0; v < V; v++) STORE;                 \
    }                                                                                       \
  }

/// Taps tile: for each tap (ci, kz, ky, kx) from the table, loads R x V input vectors and
/// adds each, times OCB broadcast weights, to OCB accumulators.
GC_INLINE void direct_taps_tile(
  const gc_direct_plan *p, const float *s, const float *w, const float *bias, float *y,
  long noc, long nb, const int OCB, const int R, const int V) {
  const long rowstep = p->sh * p->pitch, ntaps = p->ntaps, yw = p->yw;
  const long yoc = p->yd * p->yh * yw;
  const long *taps = p->taps;
  for (long c = 0; c < p->chunks; c++) {
    const long col = c * 16 * V;
    direct_mask mask[8];
#pragma clang loop unroll(full)
    for (int v = 0; v < V; v++) mask[v] = direct_columns(col + 16 * v, yw);
    for (long j0 = 0; j0 < nb; j0 += R) {
      const long nrows = nb - j0;
      float *yt = y + j0 * yw;
      gc_v16 acc[4][8][8];
#pragma clang loop unroll(full)
      for (int o = 0; o < OCB; o++) {
        const gc_v16 b = direct_bias(bias, o, noc);
#pragma clang loop unroll(full)
        for (int j = 0; j < R; j++)
#pragma clang loop unroll(full)
          for (int v = 0; v < V; v++) acc[o][j][v] = b;
      }
      const float *sc = s + j0 * rowstep + col;
      const float *wk = w;
      for (long k = 0; k < ntaps; k++, wk += OCB) {
        const float *sk = sc + taps[k];
        gc_v16 xv[8][8];
#pragma clang loop unroll(full)
        for (int j = 0; j < R; j++)
#pragma clang loop unroll(full)
          for (int v = 0; v < V; v++) xv[j][v] = gc_load(sk + j * rowstep + 16 * v);
#pragma clang loop unroll(full)
        for (int o = 0; o < OCB; o++) {
          const gc_v16 wv = direct_splat(wk[o]);
#pragma clang loop unroll(full)
          for (int j = 0; j < R; j++)
#pragma clang loop unroll(full)
            for (int v = 0; v < V; v++) acc[o][j][v] = acc[o][j][v] + xv[j][v] * wv;
        }
      }
      DIRECT_STORE_TILE(OCB, R, V, 0);
    }
  }
}

/// Sliding tile, 2-D with one input plane (depthwise): a K x K kernel, row stride SH, row
/// dilation 1. Staged row t is loaded once per column tap and feeds every tile row j that
/// reads it (through kernel row t - j * SH), so the loads per FMA fall with R.
GC_INLINE void direct_sliding_chunk(
  const gc_direct_plan *p, const float *s, const float *w, const float *bias, float *y,
  long noc, long nb, const long *koff, long c, const int OCB, const int R, const int V,
  const int K, const int SH, const int LOW) {
  const long L = p->pitch, yw = p->yw;
  const long yoc = p->yd * p->yh * yw;
  const long col = c * 16 * V;
  direct_mask mask[8];
#pragma clang loop unroll(full)
  for (int v = 0; v < V; v++) mask[v] = direct_columns(col + 16 * v, yw);
  for (long j0 = 0; j0 < nb; j0 += R) {
    const long nrows = nb - j0;
    float *yt = y + j0 * yw;
    gc_v16 acc[2][8][8];
#pragma clang loop unroll(full)
    for (int o = 0; o < OCB; o++) {
      const gc_v16 b = direct_bias(bias, o, noc);
#pragma clang loop unroll(full)
      for (int j = 0; j < R; j++)
#pragma clang loop unroll(full)
        for (int v = 0; v < V; v++) acc[o][j][v] = b;
    }
    const float *sc = s + j0 * SH * L + col;
#pragma clang loop unroll(full)
    for (int t = 0; t < (R - 1) * SH + K; t++) {
#pragma clang loop unroll(full)
      for (int kx = 0; kx < K; kx++) {
        const float *sp = sc + t * L + koff[kx];
        gc_v16 xv[8];
#pragma clang loop unroll(full)
        for (int v = 0; v < V; v++) xv[v] = gc_load(sp + 16 * v);
#pragma clang loop unroll(full)
        for (int j = 0; j < R; j++) {
          const int ky = t - j * SH;
          if (ky < 0 || ky >= K) continue;
#pragma clang loop unroll(full)
          for (int o = 0; o < OCB; o++) {
            const gc_v16 wv = direct_splat(w[(ky * K + kx) * OCB + o]);
#pragma clang loop unroll(full)
            for (int v = 0; v < V; v++) acc[o][j][v] = acc[o][j][v] + xv[v] * wv;
          }
        }
      }
    }
    DIRECT_STORE_TILE(OCB, R, V, LOW);
  }
}

/// The sliding tile over every chunk. With AVX2, a last chunk of one vector whose columns
/// all lie in its first half (a row of 56: 3 chunks and a half) computes only that half.
GC_INLINE void direct_sliding_tile(
  const gc_direct_plan *p, const float *s, const float *w, const float *bias, float *y,
  long noc, long nb, const int OCB, const int R, const int V, const int K, const int SH) {
  long koff[8];
#pragma clang loop unroll(full)
  for (int kx = 0; kx < K; kx++) koff[kx] = p->koff[kx];
  for (long c = 0; c < p->chunks; c++) {
#if defined(GC_VECTOR_AVX2)
    if (V == 1 && p->yw - c * 16 <= 8) {
      direct_sliding_chunk(p, s, w, bias, y, noc, nb, koff, c, OCB, R, V, K, SH, 1);
      continue;
    }
#endif
    direct_sliding_chunk(p, s, w, bias, y, noc, nb, koff, c, OCB, R, V, K, SH, 0);
  }
}


#if defined(GC_DIRECT_AVX512)
/// Sliding 3 x 3 tile (depthwise, dilation 1, strides SH x SH with SH 1 or 2) that reads the
/// input rows where they are instead of staged copies: the copy costs about a third of the
/// time of a 3 x 3 depthwise convolution, and most of it at stride 2. Rows above or below
/// the input read `zero`, a zero row; the first and last vectors of a chunk read under masks
/// the columns outside the input as zeros (and never past the row); the vectors between must
/// lie inside the row (the planner checks). At stride 2 each
/// vector of taps is the even lanes of two loads (one permute). Same accumulation order as
/// direct_sliding_tile, so the same bits.
GC_INLINE void direct_rows_tile(
  const gc_direct_plan *p, const float *zero, const float *x, long y0, const float *w,
  const float *bias, float *y, long noc, long nb, const int OCB, const int R, const int V,
  const int SH) {
  enum { K = 3 };
  const long xw = p->xw, xh = p->xh, yw = p->yw, pw = p->pw;
  const long yoc = p->yd * p->yh * yw;
  const long top = y0 * SH - p->ph;  // the input row staged row 0 would hold
  for (long c = 0; c < p->chunks; c++) {
    const long col = c * 16 * V;
    // Lane i of vector v, tap kx, reads input column SH * (col + 16 v + i) + kx - pw: load h
    // (h = 0, or 0 and 1 at stride 2) of the vector starts at column first[kx] + 16 h.
    direct_mask mask[8], left[K][2], right[K][2];
#pragma clang loop unroll(full)
    for (int v = 0; v < V; v++) mask[v] = direct_columns(col + 16 * v, yw);
#pragma clang loop unroll(full)
    for (int kx = 0; kx < K; kx++) {
#pragma clang loop unroll(full)
      for (int h = 0; h < SH; h++) {
        const long first = SH * col + kx - pw + 16 * h;
        // The first vector is masked at both ends: with wide padding, a short row can end
        // inside it.
        left[kx][h] = first >= 0 ? direct_columns(first, xw)
          : first <= -16 ? (direct_mask)0
          : (direct_mask)((0xffffu << -first) & direct_columns(first, xw));
        right[kx][h] = direct_columns(first + 16 * SH * (V - 1), xw);
        if (V == 1) right[kx][h] &= left[kx][h];
      }
    }
    for (long j0 = 0; j0 < nb; j0 += R) {
      const long nrows = nb - j0;
      float *yt = y + j0 * yw;
      // With one vector per row the tile is bound by the FMA latency along each
      // accumulator's chain of taps: the middle column tap (kx = 1) then goes to a second
      // accumulator, added at the end.
      const int SPLIT = V == 1;
      gc_v16 acc[2][8][8], acc1[2][8];
#pragma clang loop unroll(full)
      for (int o = 0; o < OCB; o++) {
        const gc_v16 b = direct_bias(bias, o, noc);
#pragma clang loop unroll(full)
        for (int j = 0; j < R; j++) {
#pragma clang loop unroll(full)
          for (int v = 0; v < V; v++) acc[o][j][v] = b;
          if (SPLIT) acc1[o][j] = direct_splat(0);
        }
      }
#pragma clang loop unroll(full)
      for (int t = 0; t < (R - 1) * SH + K; t++) {
        const long iy = top + j0 * SH + t;
        const float *row = (iy >= 0 && iy < xh ? x + iy * xw : zero) + SH * col - pw;
#pragma clang loop unroll(full)
        for (int kx = 0; kx < K; kx++) {
          gc_v16 xv[8];
#pragma clang loop unroll(full)
          for (int v = 0; v < V; v++) {
            const float *at = row + kx + 16 * SH * v;
            gc_v16 part[2];
#pragma clang loop unroll(full)
            for (int h = 0; h < SH; h++) {
              if (v == V - 1) part[h] = direct_load_masked(at + 16 * h, right[kx][h]);
              else if (v == 0) part[h] = direct_load_masked(at + 16 * h, left[kx][h]);
              else part[h] = gc_load(at + 16 * h);
            }
            if (SH == 1) xv[v] = part[0];
            else
              xv[v] = __builtin_shufflevector(part[0], part[SH - 1], 0, 2, 4, 6, 8, 10, 12, 14,
                                              16, 18, 20, 22, 24, 26, 28, 30);
          }
#pragma clang loop unroll(full)
          for (int j = 0; j < R; j++) {
            const int ky = t - j * SH;
            if (ky < 0 || ky >= K) continue;
#pragma clang loop unroll(full)
            for (int o = 0; o < OCB; o++) {
              const gc_v16 wv = direct_splat(w[(ky * K + kx) * OCB + o]);
              if (SPLIT && kx == 1) {
                acc1[o][j] = acc1[o][j] + xv[0] * wv;
                continue;
              }
#pragma clang loop unroll(full)
              for (int v = 0; v < V; v++) acc[o][j][v] = acc[o][j][v] + xv[v] * wv;
            }
          }
        }
      }
      if (SPLIT) {
#pragma clang loop unroll(full)
        for (int o = 0; o < OCB; o++)
#pragma clang loop unroll(full)
          for (int j = 0; j < R; j++) acc[o][j][0] = acc[o][j][0] + acc1[o][j];
      }
      DIRECT_STORE_TILE(OCB, R, V, 0);
    }
  }
}
#define DIRECT_ROWS(kind, k, sh) ((kind) == 1 && (k) == 3)
#else
#define DIRECT_ROWS(kind, k, sh) 0
#define direct_rows_tile(...) ((void)0)
#endif

#define GC_DIRECT_DEFINE(kind, ocb, rows, vecs, k, sh)                                       \
  static void GC_ISA(direct_tile_##kind##_##ocb##_##rows##_##vecs##_##k##_##sh)(              \
    const gc_direct_plan *p, const float *s, const float *xr, long y0, const float *w,       \
    const float *bias, float *y, long noc, long nb) {                                        \
    (void)y0;                                                                                \
    if (DIRECT_ROWS(kind, k, sh) && xr)                                                      \
      direct_rows_tile(p, s + p->cin * p->kd * p->plane + 16, xr, y0, w, bias, y, noc, nb,   \
                       ocb, rows, vecs, sh);                                                 \
    else if (kind == 0) direct_taps_tile(p, s, w, bias, y, noc, nb, ocb, rows, vecs);        \
    else direct_sliding_tile(p, s, w, bias, y, noc, nb, ocb, rows, vecs, k, sh);             \
  }
GC_DIRECT_TILES(GC_DIRECT_DEFINE)
#undef GC_DIRECT_DEFINE

#define GC_DIRECT_ENTRY(kind, ocb, rows, vecs, k, sh) \
  GC_ISA(direct_tile_##kind##_##ocb##_##rows##_##vecs##_##k##_##sh),
static const direct_tile_fn GC_ISA(direct_tiles)[] = {GC_DIRECT_TILES(GC_DIRECT_ENTRY)};
#undef GC_DIRECT_ENTRY

// MARK: - Work items

void GC_ISA(gc_direct_forward)(
  const gc_direct_plan *p, const float *x, const float *bias, float *y, float *s, long first,
  long last) {
  const direct_tile_fn tile = GC_ISA(direct_tiles)[p->tile];
  const long xchannel = p->xd * p->xh * p->xw, ychannel = p->yd * p->yh * p->yw;
  const long wblock = p->ntaps * p->ocb;
  direct_phase ph[16];
#pragma clang loop vectorize(disable)
  for (long f = 0; f < p->sw && f < 16; f++) ph[f] = direct_phase_of(p, f);
  // (n, g, oz, b) of item `first`, then counted up without divisions.
  long r = first;
  long b = r % p->bands; r /= p->bands;
  long oz = r % p->yd; r /= p->yd;
  long g = r % p->groups;
  long n = r / p->groups;
  for (long item = first; item < last; item++) {
    if (item > first && ++b == p->bands) {
      b = 0;
      if (++oz == p->yd) {
        oz = 0;
        if (++g == p->groups) { g = 0; n++; }
      }
    }
    const long y0 = b * p->band;
    const long nb = p->yh - y0 < p->band ? p->yh - y0 : p->band;
    const float *xg = x + (n * p->groups + g) * p->cin * xchannel;
#if defined(GC_DIRECT_AVX512)
    const float *xr = p->direct_rows ? xg : 0;
#else
    const float *xr = 0;
#endif
    if (!xr) direct_stage(p, ph, xg, s, oz, y0);
    for (long ob = 0; ob < p->ocblocks; ob++) {
      const long oc = ob * p->ocb;
      const long noc = p->cout - oc < p->ocb ? p->cout - oc : p->ocb;
      const float *w = p->weight + (g * p->ocblocks + ob) * wblock;
      const float *bb = bias ? bias + g * p->cout + oc : 0;
      float *yb = y + (n * p->groups * p->cout + g * p->cout + oc) * ychannel
        + (oz * p->yh + y0) * p->yw;
      tile(p, s, xr, y0, w, bb, yb, noc, nb);
    }
  }
  if (p->stream) direct_stream_fence();
}

#undef GC_INLINE
#endif
