// Compiles the kernel family named by GC_FAMILY (a families/ header) for AVX2 with FMA, with
// the names NAME_avx2 (x86-64 only; NAME.c calls them on CPUs that have AVX2 but not AVX-512).
#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#include "CKernels.h"
#define GC_ISA(name) name##_avx2
#define GC_VECTOR_AVX2 1
#include "families/vector.h"
#include GC_FAMILY
#pragma clang attribute pop
#endif
