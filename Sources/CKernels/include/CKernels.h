// CKernels: the few convolution microkernels that need SIMD code generation Swift cannot
// express portably. Each family is written once with vector extensions (families/*.h) and
// compiled twice: for AVX-512 (x86-64 only, chosen at run time when the CPU has it) and for
// the baseline of the target (any x86-64 or arm64). Swift calls them through the function
// table that gc_kernels() returns; planning, packing and threading stay in Swift.
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The microkernels of one instruction set.
typedef struct gc_kernel_table {
  /// A short name for reports: "avx512" or "generic".
  const char *name;
  /// Floats per vector register the kernels are tuned for.
  int vector_floats;
  /// Runs `iterations` × 24 vector FMAs (16 lanes each, 2 FLOP per lane); returns a sum so
  /// the work is not optimised away. Times the machine's FMA peak.
  float (*fma_peak)(long iterations);
} gc_kernel_table;

/// The table for this CPU: AVX-512 when the CPU and OS support it, else the baseline.
/// Chosen once; `GROUPCONV_ISA=generic` in the environment forces the baseline.
const gc_kernel_table *gc_kernels(void);

/// The baseline table, whatever the CPU.
const gc_kernel_table *gc_kernels_generic(void);

#ifdef __cplusplus
}
#endif

#endif
