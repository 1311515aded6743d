#include "CKernels.h"

void gc_pooling_plane_avx512(const gc_pooling_args *args);
void gc_pooling_plane_generic(const gc_pooling_args *args);

void gc_pooling_plane(const gc_pooling_args *args) {
#if defined(__x86_64__)
  if (gc_has_avx512()) {
    gc_pooling_plane_avx512(args);
    return;
  }
#endif
  gc_pooling_plane_generic(args);
}
