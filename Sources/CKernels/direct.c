// Picks the direct convolution kernels for this CPU, and answers the planner's questions.
#include "CKernels.h"
#include "families/direct.h"

#define GC_DIRECT_FORWARD_PARAMS                                                              \
  (const gc_direct_plan *p, const float *x, const float *bias, float *y, float *s, long first, \
   long last)
#if defined(__x86_64__)
void gc_direct_forward_avx512 GC_DIRECT_FORWARD_PARAMS;
void gc_direct_forward_avx2 GC_DIRECT_FORWARD_PARAMS;
#endif
void gc_direct_forward_generic GC_DIRECT_FORWARD_PARAMS;

int gc_direct_isa_level(long isa) {
  const int cpu = gc_cpu_isa(), forced = (int)isa - GC_DIRECT_ISA_GENERIC;
  return isa == GC_DIRECT_ISA_AUTOMATIC ? gc_isa() : forced < cpu ? forced : cpu;
}

void gc_direct_forward GC_DIRECT_FORWARD_PARAMS {
#if defined(__x86_64__)
  const int level = gc_direct_isa_level(p->isa);
  if (level == GC_ISA_AVX512) {
    gc_direct_forward_avx512(p, x, bias, y, s, first, last);
    return;
  }
  if (level == GC_ISA_AVX2) {
    gc_direct_forward_avx2(p, x, bias, y, s, first, last);
    return;
  }
#endif
  gc_direct_forward_generic(p, x, bias, y, s, first, last);
}

long gc_direct_tile_index(long kind, long ocb, long rows, long vecs, long k, long sh) {
  long index = 0;
#define GC_DIRECT_MATCH(k_, o_, r_, v_, kk_, sh_)                                            \
  if (kind == k_ && ocb == o_ && rows == r_ && vecs == v_ && (k_ == 0 || (k == kk_ && sh == sh_))) \
    return index;                                                                            \
  index++;
  GC_DIRECT_TILES(GC_DIRECT_MATCH)
#undef GC_DIRECT_MATCH
  return -1;
}

long gc_direct_scratch_count(const gc_direct_plan *p) {
  // Every (channel, kernel depth) plane, plus a vector of slack for tiles' last reads; then
  // a zero row (with a vector of margin each side) that rows-reading tiles read for rows
  // outside the input, and that staging never writes.
  return p->cin * p->kd * p->plane + 16 + p->sw * p->pitch + 48;
}

