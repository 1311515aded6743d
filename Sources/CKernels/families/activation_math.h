// The activations on one vector (see activation.h for how each is computed), shared by
// the activation loops and the kernels that apply an activation as they store their
// output. Included once per instruction set, after vector.h.
#ifndef GC_ACTIVATION_MATH_H
#define GC_ACTIVATION_MATH_H
#include "gc_activation.h"

// MARK: - One vector

typedef int32_t act_i16 __attribute__((vector_size(64), aligned(4)));

#define ACT_INLINE static inline __attribute__((always_inline))

// mask ? a : b, lane by lane; mask lanes are all ones or all zeros (a vector comparison).
ACT_INLINE gc_v16 act_select(act_i16 mask, gc_v16 a, gc_v16 b) {
  return (gc_v16)(((act_i16)a & mask) | ((act_i16)b & ~mask));
}

ACT_INLINE gc_v16 act_abs(gc_v16 x) { return (gc_v16)((act_i16)x & 0x7fffffff); }

// |magnitude| with the sign of `sign`.
ACT_INLINE gc_v16 act_copysign(gc_v16 magnitude, gc_v16 sign) {
  return (gc_v16)(((act_i16)magnitude & 0x7fffffff) | ((act_i16)sign & (int32_t)0x80000000));
}

ACT_INLINE gc_v16 act_exp(gc_v16 x) {
#if defined(GC_VECTOR_AVX512)
  // x86 min and max return their second operand when either is NaN: NaN stays.
  x = (gc_v16)_mm512_min_ps(_mm512_set1_ps(88.8f), (__m512)x);
  x = (gc_v16)_mm512_max_ps(_mm512_set1_ps(-104.0f), (__m512)x);
  const gc_v16 n = (gc_v16)_mm512_roundscale_ps(
    (__m512)(x * 1.44269504f), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
#else
  x = act_select(x > 88.8f, gc_splat(88.8f), x);  // NaN fails both tests and stays
  x = act_select(x < -104.0f, gc_splat(-104.0f), x);
  // Adding 1.5 · 2^23 rounds x / ln2 to an integer held in the low mantissa bits.
  const gc_v16 t = x * 1.44269504f + 12582912.0f;
  const gc_v16 n = t - 12582912.0f;
#endif
  gc_v16 r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  gc_v16 p = 1.9875691500e-4f * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
#if defined(GC_VECTOR_AVX512)
  // p · 2^n in one instruction, 2^n past the float range included (n is at most 129).
  return (gc_v16)_mm512_scalef_ps((__m512)p, (__m512)n);
#else
  const act_i16 ni = (act_i16)t - 0x4b400000;
  const act_i16 half = ni >> 1;
  const gc_v16 lower = (gc_v16)((half + 127) << 23);
  const gc_v16 upper = (gc_v16)((ni - half + 127) << 23);
  return p * upper * lower;
#endif
}

ACT_INLINE gc_v16 act_sigmoid(gc_v16 x) { return gc_reciprocal(1.0f + act_exp(-x)); }

ACT_INLINE gc_v16 act_silu(gc_v16 x) { return x * act_sigmoid(x); }

ACT_INLINE gc_v16 act_tanh(gc_v16 x) {
  const gc_v16 z = x * x;
  gc_v16 p = -5.70498872745e-3f * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const gc_v16 small = x + x * z * p;
  const gc_v16 a = act_abs(x);
  const gc_v16 large = 1.0f - 2.0f * gc_reciprocal(act_exp(a + a) + 1.0f);
  return act_copysign(act_select(a < 0.625f, small, large), x);
}

ACT_INLINE gc_v16 act_erf(gc_v16 x) {
  const gc_v16 s = x * x;
  gc_v16 p = 7.87587487e-05f * s - 0.00080168643f;
  p = p * s + 0.00518908724f;
  p = p * s - 0.0268542115f;
  p = p * s + 0.112835944f;
  p = p * s - 0.37612626f;
  p = p * s + 1.12837911f;
  const gc_v16 small = x * p;
  const gc_v16 a = act_abs(x);
  const gc_v16 u = (act_select(a > 4.0f, gc_splat(4.0f), a) - 2.5f) * (1.0f / 1.5f);
  gc_v16 q = 4.19583994e-05f * u - 0.000227499506f;
  q = q * u + 0.0008803971f;
  q = q * u - 0.00319030532f;
  q = q * u + 0.0109618492f;
  q = q * u - 0.0366475768f;
  q = q * u - 2.12376094f;
  q = q * u - 8.02902126f;
  q = q * u - 7.80681515f;
  const gc_v16 large = 1.0f - act_exp(q);
  return act_copysign(act_select(a < 1.0f, small, large), x);
}

// gelu's erf, where only its absolute error counts (it is added to 1): Abramowitz and
// Stegun 7.1.28, erf t = 1 - (1 + a1 t + ... + a6 t^6)^-16 for t >= 0, within 3e-7, with t
// clamped to 4 (erf 4 rounds to 1). One polynomial and a reciprocal instead of act_erf's
// two branches and exp: less than half the work.
ACT_INLINE gc_v16 act_gelu(gc_v16 x) {
  const gc_v16 t = x * 0.707106781f;
  gc_v16 a = act_abs(t);
  a = act_select(a > 4.0f, gc_splat(4.0f), a);  // NaN fails the test and stays
  gc_v16 p = 4.30638e-5f * a + 2.765672e-4f;
  p = p * a + 1.520143e-4f;
  p = p * a + 9.2705272e-3f;
  p = p * a + 4.22820123e-2f;
  p = p * a + 7.05230784e-2f;
  p = p * a + 1.0f;
  p = p * p;
  p = p * p;
  p = p * p;
  p = p * p;
  const gc_v16 erf = act_copysign(1.0f - gc_reciprocal(p), t);
  return 0.5f * x * (1.0f + erf);
}

// x · min(max(x · (1/6) + 1/2, 0), 1); NaN stays NaN (it fails both comparisons of the
// clamp). A multiply-add, not a division: a vector division costs as much as the rest
// together (5.8 ns a vector against about 1.5 here).
ACT_INLINE gc_v16 act_hard_swish(gc_v16 x) {
  gc_v16 g = x * (1.0f / 6.0f) + 0.5f;
  g = act_select(g < 0.0f, gc_splat(0.0f), g);
  g = act_select(g > 1.0f, gc_splat(1.0f), g);
  return x * g;
}

/// f(v) for activation `kind` (a gc_activation_kind).
ACT_INLINE gc_v16 act_apply(int kind, gc_v16 v) {
  switch (kind) {
  case GC_ACTIVATION_EXP: return act_exp(v);
  case GC_ACTIVATION_SIGMOID: return act_sigmoid(v);
  case GC_ACTIVATION_SILU: return act_silu(v);
  case GC_ACTIVATION_TANH: return act_tanh(v);
  case GC_ACTIVATION_ERF: return act_erf(v);
  case GC_ACTIVATION_GELU_ERF: return act_gelu(v);
  case GC_ACTIVATION_HARD_SWISH: return act_hard_swish(v);
  default: return v;
  }
}

// y = f(x) over `runs` runs of `run` whole vectors, the runs `stride` floats apart in both
// (y may be x), four vectors to a step: each vector's exp is a chain of about 25 dependent
// instructions, more than the scheduler holds for the next vectors' chains to overlap
// with the first one's unless they come interleaved (SiLU over a row in L1: 18 ns a
// vector one at a time, 12 four at a time).
#define ACT_RUNS(f)                                                                        \
  {                                                                                        \
    int64_t left = runs * run, at = 0, i = 0;                                              \
    for (; left >= 4; left -= 4) {                                                         \
      int64_t offset[4];                                                                   \
      gc_v16 v[4];                                                                         \
      _Pragma("clang loop unroll(full)") for (int j = 0; j < 4; j++) {                     \
        offset[j] = at + i * 16;                                                           \
        v[j] = gc_load(x + offset[j]);                                                     \
        if (++i == run) i = 0, at += stride;                                               \
      }                                                                                    \
      _Pragma("clang loop unroll(full)") for (int j = 0; j < 4; j++)                       \
        gc_store(y + offset[j], f(v[j]));                                                  \
    }                                                                                      \
    for (; left > 0; left--) {                                                             \
      gc_store(y + at + i * 16, f(gc_load(x + at + i * 16)));                              \
      if (++i == run) i = 0, at += stride;                                                 \
    }                                                                                      \
  }

ACT_INLINE void act_runs(
  int kind, const float *x, float *y, int64_t stride, int64_t runs, int64_t run) {
  switch (kind) {
  case GC_ACTIVATION_EXP: ACT_RUNS(act_exp) break;
  case GC_ACTIVATION_SIGMOID: ACT_RUNS(act_sigmoid) break;
  case GC_ACTIVATION_SILU: ACT_RUNS(act_silu) break;
  case GC_ACTIVATION_TANH: ACT_RUNS(act_tanh) break;
  case GC_ACTIVATION_ERF: ACT_RUNS(act_erf) break;
  case GC_ACTIVATION_GELU_ERF: ACT_RUNS(act_gelu) break;
  case GC_ACTIVATION_HARD_SWISH: ACT_RUNS(act_hard_swish) break;
  default: break;
  }
}
#undef ACT_RUNS
#endif
