// Depthwise convolution with stride 1 on flat planes (see include/gc_dwplane.h): every tap a
// masked, shifted load of the channel's plane and one multiply-add per output vector. No
// staged copy: the masks stand for the zeros of the padding. Included once per instruction
// set with GC_ISA defined.
#include "gc_dwplane.h"
#include "activation_math.h"

/// Vectors of accumulators per channel at most, and channels computed together at most.
#define DWPLANE_VECTORS 16
#define DWPLANE_CHANNELS 4
/// Vectors per channel up to which the masks of a tap are read once for all its channels.
#define DWPLANE_FEW_VECTORS 4

/// acc + p[lane] · w in the lanes set in `mask`, acc in the others; lanes not set are not
/// read (they may lie outside the plane). Under AVX-512 one multiply-add with a masked memory
/// operand: a masked load would cost a second vector µop, as much as the multiply-add.
static inline __attribute__((always_inline)) gc_v16 GC_ISA(dwplane_fma)(
  gc_v16 acc, const float *p, gc_v16 w, uint16_t mask) {
#if defined(GC_VECTOR_AVX512)
  const __mmask16 k = (__mmask16)mask;
  __asm__("vfmadd231ps %[p], %[w], %[acc]%{%[k]%}"
          : [acc] "+v"(acc)
          : [p] "m"(*(const float(*)[16])p), [w] "v"(w), [k] "Yk"(k));
  return acc;
#else
  return acc + gc_load_masked(p, mask) * w;
#endif
}

/// Applies `activation` to y[0..<n] in place. Out of line: inlined in each of the 20 blocks it
/// made the code 7 times larger, and a small plane's blocks slower.
static __attribute__((noinline)) void GC_ISA(dwplane_activate)(
  float *y, int64_t n, int32_t activation) {
  for (int64_t i = 0; i < n; i += 16)
    gc_store_first(y + i, act_apply(activation, gc_load_first(y + i, n - i)), n - i);
}

/// Output vectors [v0, v0 + NV) of C consecutive output channels from `o`: sums over the
/// taps from the bias (and y when adding), clamped, stored, then activated in place.
static inline __attribute__((always_inline)) void GC_ISA(dwplane_block)(
  const int NV, const int C, const gc_dwplane_args *g, int64_t o, int64_t v0) {
  gc_v16 acc[DWPLANE_CHANNELS][DWPLANE_VECTORS];
  const float *x[DWPLANE_CHANNELS];
  float *y[DWPLANE_CHANNELS];
  const float *w[DWPLANE_CHANNELS];
  const int64_t left = g->out_plane - v0 * 16;  // output positions from v0 on
#pragma clang loop unroll(full)
  for (int c = 0; c < DWPLANE_CHANNELS; c++) {
    if (c >= C) continue;
    // No division without a multiplier: one per channel took 10-20 % of a 7×7 plane's time.
    x[c] = g->x + (g->multiplier == 1 ? o + c : (o + c) / g->multiplier) * g->plane + v0 * 16;
    y[c] = g->y + (o + c) * g->out_plane + v0 * 16;
    w[c] = g->weights + (o + c) * g->taps;
    const gc_v16 b = gc_splat(g->bias ? g->bias[o + c] : 0.0f);
#pragma clang loop unroll(full)
    for (int v = 0; v < DWPLANE_VECTORS; v++) {
      if (v >= NV) continue;
      acc[c][v] = g->add ? b + gc_load_first(y[c] + 16 * v, left - 16 * v) : b;
    }
  }
  const uint16_t *masks = g->masks + v0;
  for (int64_t t = 0; t < g->taps; t++) {
    const int64_t shift = g->offsets[t];
    const uint16_t *m = masks + t * g->vectors;
    // A few vectors' masks are read once per tap for all the channels, into mask registers
    // (seven can mask); more would be read again per channel.
    uint16_t few[DWPLANE_FEW_VECTORS];
#pragma clang loop unroll(full)
    for (int v = 0; v < DWPLANE_FEW_VECTORS; v++) few[v] = NV <= DWPLANE_FEW_VECTORS && v < NV ? m[v] : 0;
#pragma clang loop unroll(full)
    for (int c = 0; c < DWPLANE_CHANNELS; c++) {
      if (c >= C) continue;
      const gc_v16 wv = gc_broadcast(w[c] + t);
      const float *p = x[c] + shift;
#pragma clang loop unroll(full)
      for (int v = 0; v < DWPLANE_VECTORS; v++)
        if (v < NV)
          acc[c][v] = GC_ISA(dwplane_fma)(
            acc[c][v], p + 16 * v, wv, NV <= DWPLANE_FEW_VECTORS ? few[v] : m[v]);
    }
  }
#pragma clang loop unroll(full)
  for (int c = 0; c < DWPLANE_CHANNELS; c++) {
    if (c >= C) continue;
#pragma clang loop unroll(full)
    for (int v = 0; v < DWPLANE_VECTORS; v++) {
      if (v >= NV) continue;
      gc_v16 value = acc[c][v];
      if (g->clamp) value = gc_clamp(value, g->clamp);
      gc_store_first(y[c] + 16 * v, value, left - 16 * v);
    }
  }
  if (g->activation >= 0) {
    if (v0 == 0 && left <= 16 * NV) {  // whole planes: the C channels' outputs are one run
      GC_ISA(dwplane_activate)(y[0], C * g->out_plane, g->activation);
    } else {
      const int64_t n = left < 16 * NV ? left : 16 * NV;
      for (int c = 0; c < C; c++) GC_ISA(dwplane_activate)(y[c], n, g->activation);
    }
  }
}

#define DWPLANE_CASE(NV, C) \
  case (NV) * 8 + (C): GC_ISA(dwplane_block)(NV, C, g, o, v0); break;
#define DWPLANE_CASES_1(NV) DWPLANE_CASE(NV, 1)
#define DWPLANE_CASES_2(NV) DWPLANE_CASE(NV, 1) DWPLANE_CASE(NV, 2)
#define DWPLANE_CASES_4(NV) DWPLANE_CASE(NV, 1) DWPLANE_CASE(NV, 4)

/// Channels computed together for blocks of `nv` vectors: four for small planes (up to 16
/// accumulators, every tap's masks read once for all four), else one, whose accumulators
/// leave registers for the loaded inputs.
static inline int GC_ISA(dwplane_channels)(int64_t nv) { return nv <= 4 ? 4 : 1; }

void GC_ISA(gc_dwplane)(const gc_dwplane_args *g) {
  const int64_t widest = g->vectors < DWPLANE_VECTORS ? g->vectors : DWPLANE_VECTORS;
  const int together = GC_ISA(dwplane_channels)(widest);
  for (int64_t o = g->channel_begin; o < g->channel_end;) {
    const int c = g->channel_end - o >= together ? together : 1;
    for (int64_t v0 = 0; v0 < g->vectors; v0 += DWPLANE_VECTORS) {
      const int64_t nv = g->vectors - v0 < DWPLANE_VECTORS ? g->vectors - v0 : DWPLANE_VECTORS;
      switch (nv * 8 + c) {
        DWPLANE_CASES_4(1) DWPLANE_CASES_4(2) DWPLANE_CASES_4(3) DWPLANE_CASES_4(4)
        DWPLANE_CASES_1(5) DWPLANE_CASES_1(6) DWPLANE_CASES_1(7) DWPLANE_CASES_1(8)
        DWPLANE_CASES_1(9) DWPLANE_CASES_1(10) DWPLANE_CASES_1(11) DWPLANE_CASES_1(12)
        DWPLANE_CASES_1(13) DWPLANE_CASES_1(14) DWPLANE_CASES_1(15) DWPLANE_CASES_1(16)
        default: break;
      }
    }
    o += c;
  }
}

#undef DWPLANE_CASES_4
#undef DWPLANE_CASES_2
#undef DWPLANE_CASES_1
#undef DWPLANE_CASE
