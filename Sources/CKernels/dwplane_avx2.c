// The flat-plane depthwise family for AVX2 with FMA.
#define GC_FAMILY "families/dwplane.h"
#include "isa_avx2.h"
