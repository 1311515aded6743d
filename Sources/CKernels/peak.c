#include "dispatch.h"

GC_DISPATCH_RETURNING(float, gc_fma_peak, (long iterations), (iterations))
