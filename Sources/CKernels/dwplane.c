#include "dispatch.h"

GC_DISPATCH(gc_dwplane, (const gc_dwplane_args *args), (args))
