#include "dispatch.h"

GC_DISPATCH(gc_dwlanes, (const gc_dwlanes_args *args), (args))
