#include "CKernels.h"
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#if defined(__linux__)
#include <unistd.h>
#endif

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

#if defined(__linux__)
/// The number in a sysfs file (a size such as "8192K" in bytes), or -1.
static long read_sysfs_number(const char *path) {
  FILE *file = fopen(path, "r");
  if (file == NULL) return -1;
  long value = -1;
  char unit = 0;
  const int read = fscanf(file, "%ld%c", &value, &unit);
  fclose(file);
  if (read < 1 || value < 0) return -1;
  if (read == 2 && (unit == 'K' || unit == 'k')) return value << 10;
  if (read == 2 && (unit == 'M' || unit == 'm')) return value << 20;
  return value;
}
#endif

long gc_last_level_cache_bytes(void) {
#if defined(__linux__)
  // sysfs, as lscpu reads it: glibc's sysconf takes the figure from cpuid, which a virtual
  // machine may report for the host (64 MiB where the guest's level 3 is 8 MiB).
  long best_level = 0, bytes = 0;
  for (int index = 0; index < 16; index++) {
    char path[96];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", index);
    const long level = read_sysfs_number(path);
    if (level < 0) break;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", index);
    const long size = read_sysfs_number(path);
    if (level > best_level && size > 0) {
      best_level = level;
      bytes = size;
    }
  }
  if (bytes > 0) return bytes;
#if defined(_SC_LEVEL3_CACHE_SIZE)
  bytes = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (bytes <= 0) bytes = sysconf(_SC_LEVEL2_CACHE_SIZE);
  return bytes > 0 ? bytes : 0;
#endif
#endif
  return 0;
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
