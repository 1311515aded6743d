// The weight-gradient kernels for the baseline instruction set. A 16-float vector is
// several registers here, so fewer accumulators fit: 6 (24 of arm64's 32 NEON registers).
#include "CKernels.h"
#define GC_ISA(name) name##_generic
#define GC_WGRAD_ACCUMULATORS 6
#include "families/vector.h"
#include "families/wgrad.h"
