// The weight-gradient matrix product: the instruction set chosen at run time.
#include "CKernels.h"

void gc_wgemm_tiles_avx512(const gc_wgemm_tiles_args *args);
void gc_wgemm_tiles_generic(const gc_wgemm_tiles_args *args);
void gc_wgemm_pack_avx512(const gc_wgemm_pack_args *args);
void gc_wgemm_pack_generic(const gc_wgemm_pack_args *args);

void gc_wgemm_tiles(const gc_wgemm_tiles_args *args) {
#if defined(__x86_64__)
  if (gc_has_avx512()) {
    gc_wgemm_tiles_avx512(args);
    return;
  }
#endif
  gc_wgemm_tiles_generic(args);
}

void gc_wgemm_pack(const gc_wgemm_pack_args *args) {
#if defined(__x86_64__)
  if (gc_has_avx512()) {
    gc_wgemm_pack_avx512(args);
    return;
  }
#endif
  gc_wgemm_pack_generic(args);
}
