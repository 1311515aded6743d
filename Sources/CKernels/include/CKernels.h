// CKernels: the convolution, matrix-product and activation microkernels that need SIMD code
// generation Swift cannot express portably. Each family is written once with vector
// extensions (families/NAME.h) and compiled twice: for AVX-512 (NAME_avx512.c, x86-64 only)
// and for the target's baseline (NAME_generic.c, any x86-64 or arm64). NAME.c picks one at
// run time. Planning, packing and threading stay in Swift.
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Whether the AVX-512 kernels run: the CPU and OS support AVX-512 F/VL/BW/DQ and FMA, and
/// the environment does not say `GROUPCONV_ISA=generic`. Decided once.
int gc_has_avx512(void);

/// Whether the CPU and OS support AVX-512 F/VL/BW/DQ and FMA, whatever the environment says.
int gc_cpu_supports_avx512(void);

/// Forces the baseline kernels (1) or returns to the run-time choice (0); for tests that
/// check both instruction sets in one process. Not for use while kernels run.
void gc_use_generic_kernels(int generic);

/// The instruction set the kernels use: "avx512" or "generic".
const char *gc_isa_name(void);

/// Runs `iterations` × 24 independent 16-lane FMAs (2 FLOP per lane) and returns a sum so
/// the work is kept: times the machine's FMA peak.
float gc_fma_peak(long iterations);

#ifdef __cplusplus
}
#endif

#include "gc_gemm.h"
#include "gc_direct.h"
#include "gc_wgrad.h"
#include "gc_pool.h"
#include "gc_pooling.h"
#include "gc_dwlanes.h"
#include "gc_dwplane.h"
#include "gc_activation.h"
#include "gc_wgemm.h"
#include "gc_matmul.h"
#include "gc_blocked.h"

#endif
