// The vector type the kernel families are written in: 16 floats, with loads and stores
// that make no alignment assumption. Lowered to one zmm register under AVX-512 and to
// several narrower registers elsewhere.
#ifndef GC_VECTOR_H
#define GC_VECTOR_H
#include <string.h>

// The helpers below are always inlined, so passing vectors by value has no ABI to keep.
#pragma clang diagnostic ignored "-Wpsabi"

typedef float gc_v16 __attribute__((vector_size(64), aligned(4)));

static inline __attribute__((always_inline)) gc_v16 gc_load(const float *p) {
  gc_v16 v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline __attribute__((always_inline)) void gc_store(float *p, gc_v16 v) {
  memcpy(p, &v, sizeof v);
}

static inline __attribute__((always_inline)) gc_v16 gc_splat(float s) {
  return (gc_v16){0} + s;
}

/// *s in every lane, written as a vector literal so that the compiler broadcasts it
/// straight from memory (`vbroadcastss zmm, m32`: a load, no shuffle-port µop).
static inline __attribute__((always_inline)) gc_v16 gc_broadcast(const float *s) {
  float v = *s;
  return (gc_v16){v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v};
}
/// min(max(v, clamp[0]), clamp[1]) in every lane: a fused ReLU or clip on a kernel's output.
static inline __attribute__((always_inline)) gc_v16 gc_clamp(gc_v16 v, const float *clamp) {
  v = __builtin_elementwise_max(v, gc_splat(clamp[0]));
  return __builtin_elementwise_min(v, gc_splat(clamp[1]));
}
#endif
