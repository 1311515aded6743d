// The weight-gradient matrix product: the instruction set chosen at run time.
#include "CKernels.h"

#if defined(__x86_64__)
#define GC_WGEMM_DISPATCH(NAME, ARGS)    \
  void NAME##_avx512(const ARGS *args);  \
  void NAME##_generic(const ARGS *args); \
  void NAME(const ARGS *args) {          \
    if (gc_has_avx512()) {               \
      NAME##_avx512(args);               \
      return;                            \
    }                                    \
    NAME##_generic(args);                \
  }
#else
#define GC_WGEMM_DISPATCH(NAME, ARGS)    \
  void NAME##_generic(const ARGS *args); \
  void NAME(const ARGS *args) { NAME##_generic(args); }
#endif

GC_WGEMM_DISPATCH(gc_wgemm_tiles, gc_wgemm_tiles_args)
GC_WGEMM_DISPATCH(gc_wgemm_pack, gc_wgemm_pack_args)
GC_WGEMM_DISPATCH(gc_wgemm_unpack, gc_wgemm_unpack_args)
