#include "CKernels.h"
#include <stdlib.h>
#include <string.h>

int gc_cpu_isa(void) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return GC_ISA_GENERIC;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
      && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
    return GC_ISA_AVX512;
  return GC_ISA_AVX2;
#else
  return GC_ISA_GENERIC;
#endif
}

/// The best the CPU has, lowered to the level GROUPCONV_ISA names (generic, avx2, avx512).
static int detect_isa(void) {
  const int cpu = gc_cpu_isa();
  const char *isa = getenv("GROUPCONV_ISA");
  if (isa == NULL) return cpu;
  if (strcmp(isa, "generic") == 0) return GC_ISA_GENERIC;
  if (strcmp(isa, "avx2") == 0) return cpu < GC_ISA_AVX2 ? cpu : GC_ISA_AVX2;
  return cpu;
}

static int cached = -1;  // a benign race: every thread computes the same value

int gc_isa(void) {
  if (cached < 0) cached = detect_isa();
  return cached;
}

int gc_has_avx512(void) { return gc_isa() == GC_ISA_AVX512; }

void gc_use_isa(int level) {
  const int cpu = gc_cpu_isa();
  cached = level < 0 ? detect_isa() : level < cpu ? level : cpu;
}

void gc_use_generic_kernels(int generic) { gc_use_isa(generic ? GC_ISA_GENERIC : -1); }

const char *gc_isa_name_of(int level) {
  return level == GC_ISA_AVX512 ? "avx512" : level == GC_ISA_AVX2 ? "avx2" : "generic";
}

const char *gc_isa_name(void) { return gc_isa_name_of(gc_isa()); }
