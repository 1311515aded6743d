#include "dispatch.h"

GC_DISPATCH(gc_pooling_plane, (const gc_pooling_args *args), (args))
