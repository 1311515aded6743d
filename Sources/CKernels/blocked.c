#include "CKernels.h"

#define GC_BLOCKED_DISPATCH(name, params, args)  \
  void name##_avx512 params;                     \
  void name##_generic params;                    \
  void name params {                             \
    GC_BLOCKED_SELECT(name, args)                \
  }

#if defined(__x86_64__)
#define GC_BLOCKED_SELECT(name, args) \
  if (gc_has_avx512()) {              \
    name##_avx512 args;               \
    return;                           \
  }                                   \
  name##_generic args;
#else
#define GC_BLOCKED_SELECT(name, args) name##_generic args;
#endif

GC_BLOCKED_DISPATCH(gc_blocked_pointwise, (const gc_blocked_pointwise_args *a), (a))
GC_BLOCKED_DISPATCH(gc_blocked_depthwise, (const gc_blocked_depthwise_args *a), (a))
GC_BLOCKED_DISPATCH(
  gc_blocked_from_planes,
  (const float *x, float *y, int64_t channels, int64_t positions, int64_t block,
   int64_t p_begin, int64_t p_end),
  (x, y, channels, positions, block, p_begin, p_end))
GC_BLOCKED_DISPATCH(
  gc_blocked_to_planes,
  (const float *x, float *y, int64_t channels, int64_t positions, int64_t block,
   int64_t p_begin, int64_t p_end),
  (x, y, channels, positions, block, p_begin, p_end))
GC_BLOCKED_DISPATCH(
  gc_blocked_mean,
  (const float *x, float *y, int64_t channels, int64_t positions, int64_t block),
  (x, y, channels, positions, block))
