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

/// The most threads `gc_parallel_items` spreads work over.
#define GC_POOL_MAX_SLOTS 64

/// One item of `gc_parallel_items`, run by the thread holding `slot`.
typedef void (*gc_item_task)(void *context, int32_t slot, int64_t item);

/// Runs task(context, slot, i) for every i in [0, count) on up to `threads` threads, each
/// holding its own slot in [0, threads) while it runs items. The items are split into one
/// range per slot, in order. A thread takes the slot of the processor it runs on (processor
/// number modulo `threads`) when it is free, else the lowest free one; runs its range from
/// the front; then takes the others' items from their backs. So when successive loops split
/// their work alike (the same positions of a plane in the same range), each core mostly
/// reads what it wrote itself, from its own caches.
void gc_parallel_items(int64_t count, int threads, gc_item_task task, void *context);

/// How long idle workers spin before they sleep, in microseconds (default 500;
/// `GROUPCONV_SPIN_US` in the environment sets it, 0 makes them sleep at once).
int64_t gc_pool_spin_microseconds(void);

#ifdef __cplusplus
}
#endif

#endif
