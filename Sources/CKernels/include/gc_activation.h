// Elementwise activations over float arrays, vectorised: the transcendental functions that
// the C library would compute one element at a time.
#ifndef GC_ACTIVATION_H
#define GC_ACTIVATION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Which function `gc_activation` applies.
typedef enum gc_activation_kind {
  GC_ACTIVATION_EXP,       ///< e^x
  GC_ACTIVATION_SIGMOID,   ///< 1 / (1 + e^-x)
  GC_ACTIVATION_SILU,      ///< x · sigmoid(x)
  GC_ACTIVATION_TANH,      ///< tanh x
  GC_ACTIVATION_ERF,       ///< the error function
  GC_ACTIVATION_GELU_ERF,  ///< 0.5 · x · (1 + erf(x / √2))
  GC_ACTIVATION_HARD_SWISH,  ///< x · min(max(x / 6 + 1/2, 0), 1)
} gc_activation_kind;

/// y[i] = f(x[i]) for i in [0, count); `y` may be `x` (in place), else they must not overlap.
/// Within abs 1e-6 + rel 1e-5 of the C library's float functions from -inf to inf; NaN in
/// gives NaN out, overflow gives inf and underflow 0 as they do.
void gc_activation(gc_activation_kind kind, const float *x, float *y, int64_t count);

/// Which arithmetic `gc_binary` applies.
typedef enum gc_binary_kind {
  GC_BINARY_ADD,
  GC_BINARY_SUBTRACT,
  GC_BINARY_MULTIPLY,
  GC_BINARY_DIVIDE,
} gc_binary_kind;

/// y[i] = a[i · a_step] ∘ b[i · b_step] for i in [0, count), each step 0 (one value) or 1;
/// `y` may be `a` or `b` when its step is 1 (each element is read before it is written).
void gc_binary(
  gc_binary_kind kind, float *y, const float *a, int64_t a_step, const float *b, int64_t b_step,
  int64_t count);

/// `gc_binary` over `rows` rows of `count`: row r reads a + r · a_row, b + r · b_row and
/// writes y + r · count.
void gc_binary_rows(
  gc_binary_kind kind, float *y, const float *a, int64_t a_row, int64_t a_step, const float *b,
  int64_t b_row, int64_t b_step, int64_t rows, int64_t count);

/// The sum of x[0 ..< count], in 64 interleaved partial sums.
float gc_sum(const float *x, int64_t count);

/// Layer normalization of `rows` rows of `inner` floats: y = (x − mean) / sqrt(variance +
/// epsilon) · scale + bias (bias may be NULL), the variance the mean squared deviation.
/// y may be x.
void gc_layer_norm(
  const float *x, float *y, int64_t rows, int64_t inner, const float *scale, const float *bias,
  float epsilon);

/// Layer normalization of x's columns, stored as rows: for positions p in [p_begin, p_end)
/// of x: [channels, positions], y[p · channels + c] = (x[c · positions + p] − mean) /
/// sqrt(variance + epsilon) · scale[c] + bias[c] (bias may be NULL), the statistics over the
/// channels of position p. An NCHW → NHWC transpose and a layer normalization over the
/// channels in one pass.
void gc_transpose_layer_norm(
  const float *x, float *y, int64_t channels, int64_t positions, int64_t p_begin,
  int64_t p_end, const float *scale, const float *bias, float epsilon);

#ifdef __cplusplus
}
#endif

#endif
