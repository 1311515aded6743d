// Matrix products with a constant right operand, for the runtime's MatMul and Gemm:
// Y[i, j] = alpha · Σ_k A[i, k] · B[k, j] + beta · C[i, j].
//
// B is packed once into column panels of GC_MATMUL_NR floats (zero past its last column):
// packed[(panel · K + k) · NR + c] = B[k, panel · NR + c]. The microkernel computes MR rows
// × NR columns, broadcasting A's elements and adding them times the panel's three vectors.
#ifndef GC_MATMUL_H
#define GC_MATMUL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Rows of A (and Y) per microkernel call: 8 × 3 accumulator vectors.
#define GC_MATMUL_MR 8
/// Columns of a packed panel: 3 vectors of 16.
#define GC_MATMUL_NR 48
/// Rows of B per pass over a panel: a pass reads 256 × 48 floats (48 KiB, from L1 and L2).
/// On ConvNeXt's shapes (K up to 3072) K blocks of 128 to 1024 rows measured within 3 % of
/// each other.
#define GC_MATMUL_KC 256
/// Floats of A per pass of rows over all panels (512 KiB, in L2): a product of many rows is
/// done in passes, so that A is read from L2, not from L3, once per panel.
#define GC_MATMUL_PASS_FLOATS 131072

/// One call of `gc_matmul`: rows [m_begin, m_end) × panels [p_begin, p_end) of Y.
typedef struct gc_matmul_args {
  /// A[i, k] = a[i * lda + k].
  const float *a;
  int64_t lda;
  /// B packed in panels (see above); k rows, n columns.
  const float *packed;
  int64_t k, n;
  int64_t m_begin, m_end;
  int64_t p_begin, p_end;
  /// Y[i, j] = y[i * ldy + j].
  float *y;
  int64_t ldy;
  float alpha;
  /// C[i, j] = c[i * c_row + j * c_col], strides 0 where C broadcasts; NULL for no C.
  const float *c;
  int64_t c_row, c_col;
  float beta;
  /// -1, or a gc_activation_kind applied to each element of Y as it is stored.
  int32_t activation;
} gc_matmul_args;

/// Y = f(alpha · A · B + beta · C) over the rows and panels of `args`, f the activation.
void gc_matmul(const gc_matmul_args *args);

#ifdef __cplusplus
}
#endif

#endif
