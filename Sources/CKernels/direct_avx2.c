// The direct convolution kernels for AVX2 with FMA.
#define GC_FAMILY "families/direct.h"
#include "isa_avx2.h"
