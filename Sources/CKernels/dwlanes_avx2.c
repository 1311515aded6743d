// The channel-lane depthwise family for AVX2 with FMA.
#define GC_FAMILY "families/dwlanes.h"
#include "isa_avx2.h"
