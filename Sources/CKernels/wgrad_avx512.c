// The weight-gradient kernels for AVX-512: 24 of the 32 zmm registers hold accumulators.
#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"))), apply_to = function)
#include "CKernels.h"
#define GC_ISA(name) name##_avx512
#define GC_VECTOR_AVX512 1
#define GC_WGRAD_ACCUMULATORS 24
#include "families/vector.h"
#include "families/wgrad.h"
#pragma clang attribute pop
#endif
