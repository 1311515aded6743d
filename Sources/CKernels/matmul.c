// Picks the matrix-product kernels for this CPU.
#include "dispatch.h"

GC_DISPATCH(gc_matmul, (const gc_matmul_args *args), (args))
