#include "CKernels.h"

void gc_dwplane_avx512(const gc_dwplane_args *args);
void gc_dwplane_generic(const gc_dwplane_args *args);

void gc_dwplane(const gc_dwplane_args *args) {
#if defined(__x86_64__)
  if (gc_has_avx512()) {
    gc_dwplane_avx512(args);
    return;
  }
#endif
  gc_dwplane_generic(args);
}
