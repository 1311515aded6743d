// The peak-FMA loop for AVX2 with FMA.
#define GC_FAMILY "families/peak.h"
#include "isa_avx2.h"
