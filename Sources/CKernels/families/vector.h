// The vector type the kernel families are written in: 16 floats, with loads and stores
// that make no alignment assumption. Lowered to one zmm register under AVX-512 and to
// several narrower registers elsewhere.
//
// GC_VECTOR_AVX512 (defined by the AVX-512 files) makes partial loads and stores single
// masked instructions and reciprocals an estimate refined once; GC_VECTOR_AVX2 (the AVX2
// files) moves a vector's first lanes as pieces of 4, 2 and 1 lanes per half, other partial
// vectors by `vmaskmovps` (one per half), and makes reciprocals divide; elsewhere partial
// loads and stores go through a stack copy.
#ifndef GC_VECTOR_H
#define GC_VECTOR_H
#include <stdint.h>
#include <string.h>
#if defined(GC_VECTOR_AVX512) || defined(GC_VECTOR_AVX2)
#include <immintrin.h>
#endif

// The helpers below are always inlined, so passing vectors by value has no ABI to keep.
#pragma clang diagnostic ignored "-Wpsabi"

typedef float gc_v16 __attribute__((vector_size(64), aligned(4)));

static inline __attribute__((always_inline)) gc_v16 gc_load(const float *p) {
  gc_v16 v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline __attribute__((always_inline)) void gc_store(float *p, gc_v16 v) {
  memcpy(p, &v, sizeof v);
}

static inline __attribute__((always_inline)) gc_v16 gc_splat(float s) {
  return (gc_v16){0} + s;
}

/// *s in every lane, written as a vector literal so that the compiler broadcasts it
/// straight from memory (`vbroadcastss zmm, m32`: a load, no shuffle-port µop).
static inline __attribute__((always_inline)) gc_v16 gc_broadcast(const float *s) {
  float v = *s;
  return (gc_v16){v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v};
}
#if defined(GC_VECTOR_AVX2)
/// The two halves of a vector (two ymm registers) and back.
typedef float gc_v8 __attribute__((vector_size(32), aligned(4)));
static inline __attribute__((always_inline)) __m256 gc_low(gc_v16 v) {
  return (__m256)__builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7);
}
static inline __attribute__((always_inline)) __m256 gc_high(gc_v16 v) {
  return (__m256)__builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
}
static inline __attribute__((always_inline)) gc_v16 gc_join(__m256 low, __m256 high) {
  return __builtin_shufflevector(
    (gc_v8)low, (gc_v8)high, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}
/// The lane masks of `vmaskmovps` for the low (first) and high half of a 16-bit mask: bit i
/// of `bits` in the sign bit of lane i, the one bit that `vmaskmovps` and `vblendvps` read
/// (a broadcast and one shift, where comparing whole lanes takes one more instruction).
static inline __attribute__((always_inline)) __m256i gc_half_mask(unsigned bits) {
  return _mm256_sllv_epi32(
    _mm256_set1_epi32((int)bits), _mm256_setr_epi32(31, 30, 29, 28, 27, 26, 25, 24));
}
/// p[0 ..< n] = the first n lanes of v (n in 0...8), as pieces of 4, 2 and 1 lanes: a masked
/// store (`vmaskmovps`) takes about 13 cycles on AMD's Zen, a piece about one.
static inline __attribute__((always_inline)) void gc_store_lanes(
  float *p, __m256 v, unsigned n) {
  if (n >= 8) {
    _mm256_storeu_ps(p, v);
    return;
  }
  __m128 part = _mm256_castps256_ps128(v);
  if (n & 4) {
    _mm_storeu_ps(p, part);
    part = _mm256_extractf128_ps(v, 1);
    p += 4;
  }
  if (n & 2) {
    _mm_storel_pi((__m64 *)p, part);
    part = _mm_movehl_ps(part, part);
    p += 2;
  }
  if (n & 1) _mm_store_ss(p, part);
}
/// p[0 ..< n] in the first lanes (n in 0...8), zero in the others, as pieces of 4, 2 and 1
/// lanes (a masked load takes about 10 cycles on Zen).
static inline __attribute__((always_inline)) __m128 gc_load_lanes4(const float *p, unsigned n) {
  if (n >= 4) return _mm_loadu_ps(p);
  const __m128 pair = _mm_castpd_ps(_mm_load_sd((const double *)p));
  if (n == 3) return _mm_movelh_ps(pair, _mm_load_ss(p + 2));
  if (n == 2) return pair;
  return n == 1 ? _mm_load_ss(p) : _mm_setzero_ps();
}
static inline __attribute__((always_inline)) __m256 gc_load_lanes(const float *p, unsigned n) {
  if (n >= 8) return _mm256_loadu_ps(p);
  if (n <= 4) return _mm256_zextps128_ps256(gc_load_lanes4(p, n));
  return _mm256_insertf128_ps(
    _mm256_castps128_ps256(_mm_loadu_ps(p)), gc_load_lanes4(p + 4, n - 4), 1);
}
/// Stores the lanes of v set in `bits` (8 bits, one run of set bits) at p: a plain store
/// when all are, nothing when none is, else the run moved to the first lanes and stored by
/// `gc_store_lanes`.
static inline __attribute__((always_inline)) void gc_store_half(
  float *p, __m256 v, unsigned bits) {
  if (bits == 0xffu) {
    _mm256_storeu_ps(p, v);
  } else if (bits) {
    const unsigned lane = (unsigned)__builtin_ctz(bits);
    if (lane)
      v = _mm256_permutevar8x32_ps(v, _mm256_add_epi32(_mm256_set1_epi32((int)lane),
                                                       _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
    gc_store_lanes(p + lane, v, (unsigned)__builtin_popcount(bits));
  }
}
#endif

/// a > b ? a : b in every lane: a NaN in a gives b, so that a maximum taken as
/// gc_max(value, acc) skips NaN values (one `vmaxps` under AVX-512).
static inline __attribute__((always_inline)) gc_v16 gc_max(gc_v16 a, gc_v16 b) {
#if defined(GC_VECTOR_AVX512)
  return (gc_v16)_mm512_max_ps((__m512)a, (__m512)b);
#elif defined(GC_VECTOR_AVX2)
  return gc_join(_mm256_max_ps(gc_low(a), gc_low(b)), _mm256_max_ps(gc_high(a), gc_high(b)));
#else
  typedef int32_t bits __attribute__((vector_size(64), aligned(4)));
  const bits take = (bits)(a > b);
  return (gc_v16)(((bits)a & take) | ((bits)b & ~take));
#endif
}

/// a < b ? a : b in every lane: a NaN in a gives b (one `vminps` under AVX-512).
static inline __attribute__((always_inline)) gc_v16 gc_min(gc_v16 a, gc_v16 b) {
#if defined(GC_VECTOR_AVX512)
  return (gc_v16)_mm512_min_ps((__m512)a, (__m512)b);
#elif defined(GC_VECTOR_AVX2)
  return gc_join(_mm256_min_ps(gc_low(a), gc_low(b)), _mm256_min_ps(gc_high(a), gc_high(b)));
#else
  typedef int32_t bits __attribute__((vector_size(64), aligned(4)));
  const bits take = (bits)(a < b);
  return (gc_v16)(((bits)a & take) | ((bits)b & ~take));
#endif
}

/// v clamped to [clamp[0], clamp[1]] in every lane: a fused ReLU or clip on a kernel's
/// output. A NaN stays NaN, as in PyTorch's relu and clamp: the bounds come first, so that
/// each comparison with a NaN gives v. Two instructions under AVX-512; a minimum and maximum
/// that skip NaN (C's fminf, fmaxf) take three each.
static inline __attribute__((always_inline)) gc_v16 gc_clamp(gc_v16 v, const float *clamp) {
  return gc_min(gc_splat(clamp[1]), gc_max(gc_splat(clamp[0]), v));
}

/// p[0 ..< n] in the first lanes (n in 0...16), zero in the others; nothing past p[n - 1]
/// is read.
static inline __attribute__((always_inline)) gc_v16 gc_load_first(const float *p, int64_t n) {
  if (n >= 16) return gc_load(p);
#if defined(GC_VECTOR_AVX512)
  return (gc_v16)_mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), p);
#elif defined(GC_VECTOR_AVX2)
  // No masked instruction: whole halves and pieces (`gc_load_lanes`).
  if (n <= 0) return gc_splat(0);
  if (n >= 8) return gc_join(_mm256_loadu_ps(p), gc_load_lanes(p + 8, (unsigned)(n - 8)));
  return gc_join(gc_load_lanes(p, (unsigned)n), _mm256_setzero_ps());
#else
  float lanes[16] = {0};
  memcpy(lanes, p, (size_t)n * sizeof(float));
  return gc_load(lanes);
#endif
}

/// p[lane] in the lanes set in `mask`, zero in the others, which are not read.
static inline __attribute__((always_inline)) gc_v16 gc_load_masked(const float *p, uint16_t mask) {
#if defined(GC_VECTOR_AVX512)
  return (gc_v16)_mm512_maskz_loadu_ps((__mmask16)mask, p);
#elif defined(GC_VECTOR_AVX2)
  // A whole vector (most of a row's) as a plain load: the masks take 8 instructions.
  if (mask == 0xffffu) return gc_load(p);
  return gc_join(
    _mm256_maskload_ps(p, gc_half_mask(mask & 0xffu)), _mm256_maskload_ps(p + 8, gc_half_mask(mask >> 8)));
#else
  gc_v16 v = gc_splat(0);
  for (int lane = 0; lane < 16; lane++)
    if (mask >> lane & 1) v[lane] = p[lane];
  return v;
#endif
}

/// p[0 ..< n] = the first n lanes of v (n in 0...16); nothing past p[n - 1] is written.
static inline __attribute__((always_inline)) void gc_store_first(float *p, gc_v16 v, int64_t n) {
  if (n >= 16) {
    gc_store(p, v);
    return;
  }
#if defined(GC_VECTOR_AVX512)
  _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1u), (__m512)v);
#elif defined(GC_VECTOR_AVX2)
  // No masked instruction: whole halves and pieces (`gc_store_lanes`).
  if (n >= 8) {
    _mm256_storeu_ps(p, gc_low(v));
    gc_store_lanes(p + 8, gc_high(v), (unsigned)(n - 8));
  } else if (n > 0) {
    gc_store_lanes(p, gc_low(v), (unsigned)n);
  }
#else
  float lanes[16];
  memcpy(lanes, &v, sizeof lanes);
  memcpy(p, lanes, (size_t)n * sizeof(float));
#endif
}

/// 1 / v within 2 ulp or so: AVX-512's 14-bit estimate and one Newton step (the estimate
/// itself where that step gives NaN: v = 0 or ±inf), else a division. NaN stays NaN.
static inline __attribute__((always_inline)) gc_v16 gc_reciprocal(gc_v16 v) {
#if defined(GC_VECTOR_AVX512)
  typedef int32_t gc_mask16 __attribute__((vector_size(64), aligned(4)));
  const gc_v16 r = (gc_v16)_mm512_rcp14_ps((__m512)v);
  const gc_v16 refined = r * (2.0f - v * r);
  const gc_mask16 ok = (gc_mask16)(refined == refined);
  return (gc_v16)(((gc_mask16)refined & ok) | ((gc_mask16)r & ~ok));
#else
  return 1.0f / v;
#endif
}

/// One round of a transpose of the N × N matrix v (rows of type T): the off-diagonal blocks
/// of size S swapped in every 2S × 2S tile, N / 2 two-vector shuffles: row i (bit S clear)
/// keeps its columns with bit S clear and takes row i + S's others.
#define GC_TRANSPOSE_ROUND(T, N, S, LO, HI)         \
  _Pragma("clang loop unroll(full)")                \
  for (int i = 0; i < (N); i++) {                   \
    if (i & (S)) continue;                          \
    T a = v[i], b = v[i + (S)];                     \
    v[i] = __builtin_shufflevector(a, b, LO);       \
    v[i + (S)] = __builtin_shufflevector(a, b, HI); \
  }

/// Transposes the 16 × 16 matrix v in place: 4 rounds, swapping blocks of size 8, 4, 2, 1.
static inline __attribute__((always_inline)) void gc_transpose16(gc_v16 v[16]) {
#define GC_TRANSPOSE_LO8 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define GC_TRANSPOSE_HI8 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define GC_TRANSPOSE_LO4 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27
#define GC_TRANSPOSE_HI4 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31
#define GC_TRANSPOSE_LO2 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29
#define GC_TRANSPOSE_HI2 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31
#define GC_TRANSPOSE_LO1 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30
#define GC_TRANSPOSE_HI1 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31
  GC_TRANSPOSE_ROUND(gc_v16, 16, 8, GC_TRANSPOSE_LO8, GC_TRANSPOSE_HI8)
  GC_TRANSPOSE_ROUND(gc_v16, 16, 4, GC_TRANSPOSE_LO4, GC_TRANSPOSE_HI4)
  GC_TRANSPOSE_ROUND(gc_v16, 16, 2, GC_TRANSPOSE_LO2, GC_TRANSPOSE_HI2)
  GC_TRANSPOSE_ROUND(gc_v16, 16, 1, GC_TRANSPOSE_LO1, GC_TRANSPOSE_HI1)
}

#if defined(GC_VECTOR_AVX2)
/// Transposes the 8 × 8 matrix v in place: rounds of 4, 2 and 1. With AVX2 the 32 registers
/// of a 16 × 16 transpose spill; four of these hold 8 at a time.
static inline __attribute__((always_inline)) void gc_transpose8(gc_v8 v[8]) {
#define GC_TRANSPOSE8_LO4 0, 1, 2, 3, 8, 9, 10, 11
#define GC_TRANSPOSE8_HI4 4, 5, 6, 7, 12, 13, 14, 15
#define GC_TRANSPOSE8_LO2 0, 1, 8, 9, 4, 5, 12, 13
#define GC_TRANSPOSE8_HI2 2, 3, 10, 11, 6, 7, 14, 15
#define GC_TRANSPOSE8_LO1 0, 8, 2, 10, 4, 12, 6, 14
#define GC_TRANSPOSE8_HI1 1, 9, 3, 11, 5, 13, 7, 15
  GC_TRANSPOSE_ROUND(gc_v8, 8, 4, GC_TRANSPOSE8_LO4, GC_TRANSPOSE8_HI4)
  GC_TRANSPOSE_ROUND(gc_v8, 8, 2, GC_TRANSPOSE8_LO2, GC_TRANSPOSE8_HI2)
  GC_TRANSPOSE_ROUND(gc_v8, 8, 1, GC_TRANSPOSE8_LO1, GC_TRANSPOSE8_HI1)
}
#endif
#endif
