// The run-time choice between a family's builds: AVX-512, AVX2 with FMA, and the baseline.
#ifndef GC_DISPATCH_H
#define GC_DISPATCH_H
#include "CKernels.h"

/// Declares name_avx512, name_avx2 and name_generic with the parameter list `params` and
/// defines `name`, which calls the one of the instruction set in use (`gc_isa`) with `args`.
/// For functions that return nothing.
#define GC_DISPATCH(name, params, args) \
  GC_DISPATCH_DECLARE(void, name, params) \
  void name params { GC_DISPATCH_SELECT(name, args, , return;) }

/// The same for a function that returns a `type`.
#define GC_DISPATCH_RETURNING(type, name, params, args) \
  GC_DISPATCH_DECLARE(type, name, params)               \
  type name params { GC_DISPATCH_SELECT(name, args, return, ) }

#if defined(__x86_64__)
#define GC_DISPATCH_DECLARE(type, name, params) \
  type name##_avx512 params;                    \
  type name##_avx2 params;                      \
  type name##_generic params;
#define GC_DISPATCH_SELECT(name, args, before, after)      \
  switch (gc_isa()) {                                      \
    case GC_ISA_AVX512: before name##_avx512 args; after   \
    case GC_ISA_AVX2: before name##_avx2 args; after       \
    default: before name##_generic args; after             \
  }
#else
#define GC_DISPATCH_DECLARE(type, name, params) type name##_generic params;
#define GC_DISPATCH_SELECT(name, args, before, after) before name##_generic args; after
#endif

#endif
