// CKernels: the convolution, matrix-product and activation microkernels that need SIMD code
// generation Swift cannot express portably. Each family is written once with vector
// extensions (families/NAME.h) and compiled three times: for AVX-512 (NAME_avx512.c) and for
// AVX2 with FMA (NAME_avx2.c), x86-64 only, and for the target's baseline (NAME_generic.c, any
// x86-64 or arm64). NAME.c picks one at run time. Planning, packing and threading stay in Swift.
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The instruction sets the kernels are compiled for, each a superset of the one before:
/// the target's baseline, AVX2 with FMA (x86-64), and AVX-512 F/VL/BW/DQ with FMA (x86-64).
enum { GC_ISA_GENERIC = 0, GC_ISA_AVX2 = 1, GC_ISA_AVX512 = 2 };

/// The instruction set the kernels use: the best the CPU and OS support, lowered to the one
/// `GROUPCONV_ISA` names (`generic`, `avx2` or `avx512`) when the environment names one.
/// Decided once.
int gc_isa(void);

/// Bytes of the processor's last-level cache (the operating system's figure), or 0 when
/// unknown.
long gc_last_level_cache_bytes(void);

/// The best instruction set the CPU and OS support, whatever the environment says.
int gc_cpu_isa(void);

/// Whether the AVX-512 kernels run (`gc_isa() == GC_ISA_AVX512`).
int gc_has_avx512(void);

/// Makes the kernels use `level` (at most the CPU's best), or the run-time choice again for a
/// negative level; for tests that check every instruction set in one process. Not for use
/// while kernels run.
void gc_use_isa(int level);

/// Forces the baseline kernels (1) or returns to the run-time choice (0): `gc_use_isa`.
void gc_use_generic_kernels(int generic);

/// The name of an instruction set: "avx512", "avx2" or "generic".
const char *gc_isa_name_of(int level);

/// The instruction set the kernels use: "avx512", "avx2" or "generic".
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
