// The weight-gradient matrix product for AVX2 with FMA.
#define GC_FAMILY "families/wgemm.h"
#include "isa_avx2.h"
