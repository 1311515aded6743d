// The GEMM convolution family for AVX2 with FMA.
#define GC_FAMILY "families/gemm.h"
#include "isa_avx2.h"
