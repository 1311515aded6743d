// The elementwise activations for AVX2 with FMA.
#define GC_FAMILY "families/activation.h"
#include "isa_avx2.h"
