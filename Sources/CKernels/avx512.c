// The kernel families compiled for AVX-512 (with FMA), on x86-64 only; chosen at run time.
#include "CKernels.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))

#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"))), apply_to = function)
#define GC_ISA(name) name##_avx512
#include "families/all.h"
#pragma clang attribute pop

static const gc_kernel_table avx512_table = {
  .name = "avx512",
  .vector_floats = 16,
  .fma_peak = gc_fma_peak_avx512,
};

static int has_avx512(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
    && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")
    && __builtin_cpu_supports("fma");
}

const gc_kernel_table *gc_kernels(void) {
  static const gc_kernel_table *chosen = NULL;
  if (chosen == NULL) {
    const char *isa = getenv("GROUPCONV_ISA");
    int forced_generic = isa != NULL && strcmp(isa, "generic") == 0;
    chosen = (!forced_generic && has_avx512()) ? &avx512_table : gc_kernels_generic();
  }
  return chosen;
}

#else

const gc_kernel_table *gc_kernels(void) { return gc_kernels_generic(); }

#endif
