// The run-time choice between a family's AVX-512 build and its baseline build.
#ifndef GC_DISPATCH_H
#define GC_DISPATCH_H
#include "CKernels.h"

/// Declares name_avx512 and name_generic with the parameter list `params` and defines
/// `name`, which calls the AVX-512 one with `args` when the CPU has it (and the generic
/// kernels are not forced), the baseline one otherwise. For functions that return nothing.
#define GC_DISPATCH(name, params, args) \
  void name##_avx512 params;            \
  void name##_generic params;           \
  void name params {                    \
    GC_DISPATCH_SELECT(name, args)      \
  }

#if defined(__x86_64__)
#define GC_DISPATCH_SELECT(name, args) \
  if (gc_has_avx512()) {               \
    name##_avx512 args;                \
    return;                            \
  }                                    \
  name##_generic args;
#else
#define GC_DISPATCH_SELECT(name, args) name##_generic args;
#endif

#endif
