// A pool of worker threads for parallel loops: workers spin briefly after each loop, so that
// the next loop of a model's next layer starts in well under a microsecond, then sleep.
#ifndef GC_POOL_H
#define GC_POOL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One task of a parallel loop: `index` in [0, count).
typedef void (*gc_task)(void *context, int64_t index);

/// Runs task(context, i) for every i in [0, count) on up to `threads` threads (the calling
/// thread and threads - 1 workers), each taking the next unclaimed index, and returns when
/// all have finished. Runs inline on the calling thread when one thread suffices, when
/// called from inside a task, or while another thread's loop is using the pool.
void gc_parallel_for(int64_t count, int threads, gc_task task, void *context);

/// How long idle workers spin before they sleep, in microseconds (default 500;
/// `GROUPCONV_SPIN_US` in the environment sets it, 0 makes them sleep at once).
int64_t gc_pool_spin_microseconds(void);

#ifdef __cplusplus
}
#endif

#endif
