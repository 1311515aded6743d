#include "CKernels.h"
#include <stdlib.h>
#include <string.h>

int gc_cpu_supports_avx512(void) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
    && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")
    && __builtin_cpu_supports("fma");
#else
  return 0;
#endif
}

static int detect_avx512(void) {
  const char *isa = getenv("GROUPCONV_ISA");
  if (isa != NULL && strcmp(isa, "generic") == 0) return 0;
  return gc_cpu_supports_avx512();
}

static int cached = -1;  // a benign race: every thread computes the same value

int gc_has_avx512(void) {
  if (cached < 0) cached = detect_avx512();
  return cached;
}

void gc_use_generic_kernels(int generic) { cached = generic ? 0 : detect_avx512(); }

const char *gc_isa_name(void) { return gc_has_avx512() ? "avx512" : "generic"; }
