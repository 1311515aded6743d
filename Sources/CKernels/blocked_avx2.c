// The channel-blocked family for AVX2 with FMA.
#define GC_FAMILY "families/blocked.h"
#include "isa_avx2.h"
