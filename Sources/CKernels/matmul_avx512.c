// The matrix-product family for AVX-512.
#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"))), apply_to = function)
#define GC_ISA(name) name##_avx512
#define GC_VECTOR_AVX512 1
#include "families/vector.h"
#include "families/matmul.h"
#pragma clang attribute pop
#endif
