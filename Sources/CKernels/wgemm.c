// The weight-gradient matrix product: the instruction set chosen at run time.
#include "dispatch.h"

GC_DISPATCH(gc_wgemm_tiles, (const gc_wgemm_tiles_args *args), (args))
GC_DISPATCH(gc_wgemm_pack, (const gc_wgemm_pack_args *args), (args))
GC_DISPATCH(gc_wgemm_unpack, (const gc_wgemm_unpack_args *args), (args))
