#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include "gc_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

// One job at a time. `state` holds the job's generation, whether it is still open to
// workers, and how many workers have joined it and not left:
//   state = generation << 17 | closed << 16 | joined.
// The caller writes the job, then publishes it by storing a new generation (release). A
// worker that sees it joins with a compare-and-swap while it is open (acquire), takes indices
// until none are left, and leaves. The caller runs tasks too; when every index is claimed it
// closes the job and waits only for the workers that joined, so a worker the OS has not
// scheduled in time never holds the caller up: it finds the job closed and skips it.
static struct {
  pthread_mutex_t lock;
  pthread_cond_t wake;
  int workers;        // started; only grows (guarded by `busy`)
  int sleeping;       // guarded by lock
  _Atomic uint64_t state;
  _Atomic int64_t next;
  _Atomic int busy;
  // The job, written before it is published.
  int64_t count;
  uint64_t joinable;  // workers that may join: threads - 1
  gc_task task;
  void *context;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

#define GC_CLOSED ((uint64_t)1 << 16)
#define GC_JOINED_MASK (GC_CLOSED - 1)
#define GC_GENERATION(state) ((state) >> 17)

static _Thread_local int inside_task;
/// 0 on any thread but the pool's; worker w of the pool (in start order) has w + 1.
static _Thread_local int worker_number;
static int64_t spin_nanoseconds = -1;

int64_t gc_pool_spin_microseconds(void) {
  if (spin_nanoseconds < 0) {
    const char *text = getenv("GROUPCONV_SPIN_US");
    long value = text ? strtol(text, NULL, 10) : 500;
    spin_nanoseconds = (value < 0 ? 0 : value) * 1000;
  }
  return spin_nanoseconds / 1000;
}

static inline void cpu_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/// One wait of a spin loop: a pause at first, then a yield, so that a spinning thread gives
/// its core to whoever is ready when the machine has more threads than cores.
static inline void relax(unsigned spins) {
  if (spins < 1024) cpu_pause();
  else sched_yield();
}

static int64_t now_nanoseconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void run_tasks(void) {
  inside_task = 1;
  for (;;) {
    int64_t index = atomic_fetch_add_explicit(&pool.next, 1, memory_order_relaxed);
    if (index >= pool.count) break;
    pool.task(pool.context, index);
  }
  inside_task = 0;
}

typedef struct {
  uint64_t seen;
  int number;
} worker_start;

/// Joins the job of generation `generation` if it is still open.
static int join(uint64_t generation) {
  uint64_t state = atomic_load_explicit(&pool.state, memory_order_relaxed);
  while (GC_GENERATION(state) == generation && !(state & GC_CLOSED)
         && (state & GC_JOINED_MASK) < pool.joinable) {
    if (atomic_compare_exchange_weak_explicit(
          &pool.state, &state, state + 1, memory_order_acquire, memory_order_relaxed))
      return 1;
  }
  return 0;
}

static void *worker_main(void *argument) {
  uint64_t seen = ((worker_start *)argument)->seen;
  worker_number = ((worker_start *)argument)->number;
  free(argument);
  for (;;) {
    uint64_t generation;
    int64_t began = now_nanoseconds();
    unsigned spins = 0;
    while ((generation = GC_GENERATION(atomic_load_explicit(&pool.state, memory_order_relaxed)))
           == seen) {
      relax(spins);
      if ((++spins & 255) == 0 && now_nanoseconds() - began >= spin_nanoseconds) {
        pthread_mutex_lock(&pool.lock);
        pool.sleeping++;
        while ((generation = GC_GENERATION(
                  atomic_load_explicit(&pool.state, memory_order_relaxed))) == seen)
          pthread_cond_wait(&pool.wake, &pool.lock);
        pool.sleeping--;
        pthread_mutex_unlock(&pool.lock);
        break;
      }
    }
    seen = generation;
    if (join(generation)) {
      run_tasks();
      atomic_fetch_sub_explicit(&pool.state, 1, memory_order_release);
    }
  }
  return NULL;
}

/// Starts workers until there are `wanted`; false if the system refuses a thread.
static int grow(int wanted) {
  while (pool.workers < wanted) {
    worker_start *start = malloc(sizeof *start);
    if (!start) return 0;
    start->seen = GC_GENERATION(atomic_load_explicit(&pool.state, memory_order_relaxed));
    start->number = pool.workers + 1;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    int failed = pthread_create(&thread, &attributes, worker_main, start);
    pthread_attr_destroy(&attributes);
    if (failed) {
      free(start);
      return 0;
    }
    pool.workers++;
  }
  return 1;
}

void gc_parallel_for(int64_t count, int threads, gc_task task, void *context) {
  if (threads > count) threads = (int)count;
  int expected = 0;
  if (threads <= 1 || inside_task
      || !atomic_compare_exchange_strong(&pool.busy, &expected, 1)) {
    for (int64_t index = 0; index < count; index++) task(context, index);
    return;
  }
  if (spin_nanoseconds < 0) gc_pool_spin_microseconds();
  grow(threads - 1);
  pool.count = count;
  pool.joinable = (uint64_t)threads - 1;
  pool.task = task;
  pool.context = context;
  atomic_store_explicit(&pool.next, 0, memory_order_relaxed);
  uint64_t generation =
    GC_GENERATION(atomic_load_explicit(&pool.state, memory_order_relaxed)) + 1;
  atomic_store_explicit(&pool.state, generation << 17, memory_order_release);
  pthread_mutex_lock(&pool.lock);
  if (pool.sleeping > 0) pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.lock);
  run_tasks();
  // Every index is claimed: close the job and wait for the workers that joined it.
  uint64_t state = atomic_fetch_or_explicit(&pool.state, GC_CLOSED, memory_order_acq_rel);
  for (unsigned spins = 0; state & GC_JOINED_MASK; spins++) {
    relax(spins);
    state = atomic_load_explicit(&pool.state, memory_order_acquire);
  }
  atomic_store_explicit(&pool.busy, 0, memory_order_release);
}

// MARK: - Items with a home thread

typedef struct {
  int64_t count;
  int ranges;
  gc_item_task task;
  void *context;
  _Atomic uint64_t taken;  // slots in use, one bit each
  // Per range, the items not yet claimed: [low, high) as high << 32 | low. Its slot's thread
  // takes them from the front, threads done with their own from the back: the last items
  // (the smallest, when a loop makes them shrink for that) are the ones shared out.
  _Atomic uint64_t left[GC_POOL_MAX_SLOTS];
} item_job;

/// Claims the first (front) or last item left in `range`; -1 when none is.
static inline int64_t claim(item_job *job, int range, int front) {
  uint64_t state = atomic_load_explicit(&job->left[range], memory_order_relaxed);
  for (;;) {
    const uint64_t low = state & 0xffffffffu, high = state >> 32;
    if (low >= high) return -1;
    const uint64_t next = front ? state + 1 : state - ((uint64_t)1 << 32);
    if (atomic_compare_exchange_weak_explicit(
          &job->left[range], &state, next, memory_order_relaxed, memory_order_relaxed))
      return (int64_t)(front ? low : high - 1);
  }
}

static inline int64_t range_begin(const item_job *job, int range) {
  return job->count * range / job->ranges;
}

/// The slot a thread asks for first: that of the processor it runs on (whose caches hold
/// what the same slot of the last loop wrote), else its number in the pool.
static int home_slot(int ranges) {
#if defined(__linux__)
  const int cpu = sched_getcpu();
  if (cpu >= 0) return cpu % ranges;
#endif
  return worker_number % ranges;
}

/// One participant: takes a slot (its home slot when free, else the lowest free one),
/// drains that slot's range, then the others' in turn.
static void run_items(void *context, int64_t index) {
  (void)index;
  item_job *job = context;
  const int home = home_slot(job->ranges);
  uint64_t taken = atomic_load_explicit(&job->taken, memory_order_relaxed);
  int slot;
  for (;;) {
    slot = !(taken & ((uint64_t)1 << home)) ? home : -1;
    for (int s = 0; slot < 0 && s < job->ranges; s++)
      if (!(taken & ((uint64_t)1 << s))) slot = s;
    if (slot < 0) return;  // every range has a participant; they finish the work
    if (atomic_compare_exchange_weak_explicit(
          &job->taken, &taken, taken | ((uint64_t)1 << slot), memory_order_acq_rel,
          memory_order_relaxed))
      break;
  }
  for (int k = 0; k < job->ranges; k++) {
    const int range = (slot + k) % job->ranges;
    for (int64_t item; (item = claim(job, range, k == 0)) >= 0;)
      job->task(job->context, slot, item);
  }
}

void gc_parallel_items(int64_t count, int threads, gc_item_task task, void *context) {
  if (count <= 0) return;
  if (threads > count) threads = (int)count;
  if (threads > GC_POOL_MAX_SLOTS) threads = GC_POOL_MAX_SLOTS;
  if (threads < 1) threads = 1;
  if (count > (int64_t)0xffffffff) {  // beyond the packed counters: one range, in order
    for (int64_t item = 0; item < count; item++) task(context, 0, item);
    return;
  }
  item_job job = {.count = count, .ranges = threads, .task = task, .context = context};
  atomic_init(&job.taken, 0);
  for (int r = 0; r < threads; r++)
    atomic_init(
      &job.left[r], (uint64_t)range_begin(&job, r + 1) << 32 | (uint64_t)range_begin(&job, r));
  gc_parallel_for(threads, threads, run_items, &job);
}
