#include "CKernels.h"

void gc_dwlanes_avx512(const gc_dwlanes_args *args);
void gc_dwlanes_generic(const gc_dwlanes_args *args);

void gc_dwlanes(const gc_dwlanes_args *args) {
#if defined(__x86_64__)
  if (gc_has_avx512()) {
    gc_dwlanes_avx512(args);
    return;
  }
#endif
  gc_dwlanes_generic(args);
}
