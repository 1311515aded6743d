// The pooling family for AVX2 with FMA.
#define GC_FAMILY "families/pooling.h"
#include "isa_avx2.h"
