// The matrix-product family for AVX2 with FMA.
#define GC_FAMILY "families/matmul.h"
#include "isa_avx2.h"
