// Elementwise activations over a float array, 16 lanes at a time: the body is written once
// here and compiled per instruction set (activation_avx512.c, activation_generic.c);
// activation.c picks one at run time. See include/gc_activation.h for the functions.
//
// exp: x = n·ln2 + r with n = round(x / ln2) and |r| <= ln2 / 2 (ln2 split in two so that
//   n·ln2_hi is exact without FMA); e^r = 1 + r + r²·P(r), Cephes' expf polynomial (degree 7
//   in all, within an ulp); 2^n from exponent bits as 2^(n - n/2) · 2^(n/2), so that both
//   factors are normal floats and the product overflows to inf, or underflows gradually to
//   0, where expf does. x is first clamped to [-104, 88.8], beyond which e^x is 0 or inf.
// sigmoid: 1 / (1 + e^-x), which is 0 (not NaN) when e^-x is inf. silu: x · sigmoid(x).
// Their reciprocals (and tanh's) are gc_reciprocal: an estimate refined once under AVX-512.
// tanh: for |x| < 0.625, x + x·z·P(z) with z = x² (Cephes' tanhf, relative error ~1e-7 down
//   to 0); above, 1 - 2 / (e^2|x| + 1) (no cancellation there: tanh >= 0.55).
// erf: for |x| < 1, x·P(x²) (P of degree 6, a Chebyshev fit of erf(√s)/√s on s in [0, 1]);
//   above, 1 - e^Q(u), where Q (degree 8) fits log(erfc t) at Chebyshev nodes of t in
//   [1, 4] and u = (t - 2.5) / 1.5; |x| is clamped to 4, past which erff is 1.
//   Absolute error below 2e-7 (the tests check it against erff).
// gelu: 0.5·x·(1 + erf(x / √2)), with the cheaper erf of A&S 7.1.28 (see act_gelu).
//
// Every function passes NaN through (the selects below keep a NaN lane on the path that
// computes with it); the odd ones take x's sign last, so that f(-0) = -0.

#include "gc_activation.h"
#include <string.h>

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
  x = act_select(x > 88.8f, gc_splat(88.8f), x);  // NaN fails both tests and stays
  x = act_select(x < -104.0f, gc_splat(-104.0f), x);
  // Adding 1.5 · 2^23 rounds x / ln2 to an integer held in the low mantissa bits.
  const gc_v16 t = x * 1.44269504f + 12582912.0f;
  const gc_v16 n = t - 12582912.0f;
  const act_i16 ni = (act_i16)t - 0x4b400000;
  gc_v16 r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  gc_v16 p = 1.9875691500e-4f * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  const act_i16 half = ni >> 1;
  const gc_v16 lower = (gc_v16)((half + 127) << 23);
  const gc_v16 upper = (gc_v16)((ni - half + 127) << 23);
  return p * upper * lower;
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

// x · min(max(x / 6 + 1/2, 0), 1); NaN stays NaN (it fails both comparisons of the clamp).
ACT_INLINE gc_v16 act_hard_swish(gc_v16 x) {
  gc_v16 g = x / 6.0f + 0.5f;
  g = act_select(g < 0.0f, gc_splat(0.0f), g);
  g = act_select(g > 1.0f, gc_splat(1.0f), g);
  return x * g;
}

// MARK: - The loop, per instruction set

// y[i] = f(x[i]): whole vectors, then the last count % 16 through a zero-padded buffer.
#define ACT_LOOP(f)                                                                        \
  {                                                                                        \
    int64_t i = 0;                                                                         \
    for (; i + 16 <= count; i += 16) gc_store(y + i, f(gc_load(x + i)));                   \
    if (i < count) {                                                                       \
      float tail[16] = {0};                                                                \
      memcpy(tail, x + i, (size_t)(count - i) * sizeof(float));                            \
      gc_store(tail, f(gc_load(tail)));                                                    \
      memcpy(y + i, tail, (size_t)(count - i) * sizeof(float));                            \
    }                                                                                      \
  }

void GC_ISA(gc_activation)(gc_activation_kind kind, const float *x, float *y, int64_t count) {
  switch (kind) {
  case GC_ACTIVATION_EXP: ACT_LOOP(act_exp) break;
  case GC_ACTIVATION_SIGMOID: ACT_LOOP(act_sigmoid) break;
  case GC_ACTIVATION_SILU: ACT_LOOP(act_silu) break;
  case GC_ACTIVATION_TANH: ACT_LOOP(act_tanh) break;
  case GC_ACTIVATION_ERF: ACT_LOOP(act_erf) break;
  case GC_ACTIVATION_GELU_ERF: ACT_LOOP(act_gelu) break;
  case GC_ACTIVATION_HARD_SWISH: ACT_LOOP(act_hard_swish) break;
  }
}
#undef ACT_LOOP

// MARK: - Binary arithmetic

// y = a ∘ b over count elements, a and b vectors (step 1) or one value (step 0): whole
// vectors, then a partial one.
#define BIN_LOOP(OP)                                                                       \
  {                                                                                        \
    const gc_v16 a0 = gc_splat(a[0]), b0 = gc_splat(b[0]);                                 \
    for (int64_t i = 0; i < count; i += 16) {                                              \
      const int64_t n = count - i < 16 ? count - i : 16;                                   \
      const gc_v16 u = a_step ? gc_load_first(a + i, n) : a0;                              \
      const gc_v16 v = b_step ? gc_load_first(b + i, n) : b0;                              \
      gc_store_first(y + i, u OP v, n);                                                    \
    }                                                                                      \
  }

void GC_ISA(gc_binary)(
  gc_binary_kind kind, float *y, const float *a, int64_t a_step, const float *b, int64_t b_step,
  int64_t count) {
  if (count <= 0) return;
  switch (kind) {
  case GC_BINARY_ADD: BIN_LOOP(+) break;
  case GC_BINARY_SUBTRACT: BIN_LOOP(-) break;
  case GC_BINARY_MULTIPLY: BIN_LOOP(*) break;
  case GC_BINARY_DIVIDE: BIN_LOOP(/) break;
  }
}
#undef BIN_LOOP
