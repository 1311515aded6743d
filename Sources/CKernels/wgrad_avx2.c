// The weight-gradient kernels for AVX2 with FMA: 12 of the 16 ymm registers hold accumulators.
#define GC_WGRAD_ACCUMULATORS 6
#define GC_FAMILY "families/wgrad.h"
#include "isa_avx2.h"
