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
#include "activation_math.h"

// MARK: - The loop, per instruction set

// y[i] = f(x[i]): whole vectors (act_runs), then the last count % 16 as a partial one
// (zeros past the end, which f never sees stored).
void GC_ISA(gc_activation)(gc_activation_kind kind, const float *x, float *y, int64_t count) {
  const int64_t whole = count / 16 * 16;
  act_runs(kind, x, y, 0, 1, count / 16);
  if (whole < count)
    gc_store_first(y + whole, act_apply(kind, gc_load_first(x + whole, count - whole)),
                   count - whole);
}

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

// MARK: - Sum

float GC_ISA(gc_sum)(const float *x, int64_t count) {
  gc_v16 s0 = gc_splat(0), s1 = gc_splat(0), s2 = gc_splat(0), s3 = gc_splat(0);
  int64_t i = 0;
  for (; i + 64 <= count; i += 64) {
    s0 += gc_load(x + i);
    s1 += gc_load(x + i + 16);
    s2 += gc_load(x + i + 32);
    s3 += gc_load(x + i + 48);
  }
  for (; i < count; i += 16) s0 += gc_load_first(x + i, count - i);
  const gc_v16 s = (s0 + s1) + (s2 + s3);
  float total = 0;
  for (int l = 0; l < 16; l++) total += s[l];
  return total;
}

void GC_ISA(gc_layer_norm)(
  const float *x, float *y, int64_t rows, int64_t inner, const float *scale, const float *bias,
  float epsilon) {
  for (int64_t r = 0; r < rows; r++) {
    const float *source = x + r * inner;
    float *target = y + r * inner;
    const float mean = GC_ISA(gc_sum)(source, inner) / (float)inner;
    gc_v16 squares = gc_splat(0);
    int64_t i = 0;
    for (; i + 16 <= inner; i += 16) {
      const gc_v16 d = gc_load(source + i) - mean;
      squares += d * d;
    }
    if (i < inner) {  // the lanes past the row count nothing
      const gc_v16 lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
      const gc_v16 d = gc_load_first(source + i, inner - i) - mean;
      squares += act_select((act_i16)(lane < (float)(inner - i)), d * d, gc_splat(0));
    }
    float total = 0;
    for (int l = 0; l < 16; l++) total += squares[l];
    const float inverse = 1.0f / __builtin_sqrtf(total / (float)inner + epsilon);
    for (int64_t i = 0; i < inner; i += 16) {
      const int64_t n = inner - i < 16 ? inner - i : 16;
      gc_v16 v = (gc_load_first(source + i, n) - mean) * inverse * gc_load_first(scale + i, n);
      if (bias) v += gc_load_first(bias + i, n);
      gc_store_first(target + i, v, n);
    }
  }
}

void GC_ISA(gc_transpose_layer_norm)(
  const float *x, float *y, int64_t channels, int64_t positions, int64_t p_begin, int64_t p_end,
  const float *scale, const float *bias, float epsilon) {
  // 16 positions at a time, one per lane: their statistics over the channels (x's rows,
  // about 6 KiB for 96 channels, read three times from L1), then 16 channels at a time
  // normalized, transposed in registers and stored as 16 rows' pieces.
  for (int64_t p = p_begin; p < p_end; p += 16) {
    const int64_t n = p_end - p < 16 ? p_end - p : 16;
    const float *source = x + p;
    gc_v16 sums[4] = {gc_splat(0), gc_splat(0), gc_splat(0), gc_splat(0)};
    int64_t c = 0;
    for (; c + 4 <= channels; c += 4)
      for (int k = 0; k < 4; k++) sums[k] += gc_load_first(source + (c + k) * positions, n);
    for (; c < channels; c++) sums[0] += gc_load_first(source + c * positions, n);
    const gc_v16 mean = (sums[0] + sums[1] + (sums[2] + sums[3])) / gc_splat((float)channels);
    gc_v16 squares[4] = {gc_splat(0), gc_splat(0), gc_splat(0), gc_splat(0)};
    for (c = 0; c + 4 <= channels; c += 4)
      for (int k = 0; k < 4; k++) {
        const gc_v16 d = gc_load_first(source + (c + k) * positions, n) - mean;
        squares[k] += d * d;
      }
    for (; c < channels; c++) {
      const gc_v16 d = gc_load_first(source + c * positions, n) - mean;
      squares[0] += d * d;
    }
    const gc_v16 variance =
      (squares[0] + squares[1] + (squares[2] + squares[3])) / gc_splat((float)channels);
    gc_v16 inverse;
    for (int l = 0; l < 16; l++) inverse[l] = 1.0f / __builtin_sqrtf(variance[l] + epsilon);
    for (int64_t c0 = 0; c0 < channels; c0 += 16) {
      const int64_t m = channels - c0 < 16 ? channels - c0 : 16;
      gc_v16 v[16];
#pragma clang loop unroll(full)
      for (int i = 0; i < 16; i++)
        v[i] = i < m ? (gc_load_first(source + (c0 + i) * positions, n) - mean) * inverse
                     : gc_splat(0);
      gc_transpose16(v);
      const gc_v16 g = gc_load_first(scale + c0, m);
      const gc_v16 b = bias ? gc_load_first(bias + c0, m) : gc_splat(0);
      for (int64_t j = 0; j < n; j++) gc_store_first(y + (p + j) * channels + c0, v[j] * g + b, m);
    }
  }
}
