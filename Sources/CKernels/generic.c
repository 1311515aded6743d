// The kernel families compiled for the target's baseline instruction set.
#include "CKernels.h"

#define GC_ISA(name) name##_generic
#include "families/all.h"

static const gc_kernel_table generic_table = {
  .name = "generic",
  .vector_floats = 16,
  .fma_peak = gc_fma_peak_generic,
};

const gc_kernel_table *gc_kernels_generic(void) { return &generic_table; }
