import CKernels
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// How many threads the kernels use, and the loop that spreads work over them.
package enum Threads {
  private static let configured = Atomic<Int>(defaultCount)

  /// `GROUPCONV_THREADS` from the environment when it is a positive integer, else the
  /// number of active processors.
  private static var defaultCount: Int {
    if let text = unsafe getenv("GROUPCONV_THREADS"), let value = Int(unsafe String(cString: text)),
      value > 0
    {
      return value
    }
    return max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
  }

  /// The number of threads parallel loops use (at least 1).
  package static var count: Int {
    get { configured.load(ordering: .relaxed) }
    set { configured.store(max(1, newValue), ordering: .relaxed) }
  }

  /// Runs `body(worker, item)` for every item in `0..<items` on up to `threads` threads,
  /// each holding a worker number in `0..<threads` that no other holds meanwhile.
  ///
  /// With `shares` (the default) the items are cut, in order, into one share per thread; a
  /// thread starts with the share of the processor it runs on, then takes the last items of
  /// the others' (`gc_parallel_items`). When consecutive layers cut their work alike (by
  /// positions, say), each core mostly reads what it wrote itself. Without, each thread
  /// takes the next unclaimed item: neighbouring items run at the same time on different
  /// cores. Either way, items of uneven cost, or a thread the OS delays, still end together.
  package static func forEachItem(
    _ items: Int, threads: Int, shares: Bool = true,
    _ body: (_ worker: Int, _ item: Int) -> Void
  ) {
    let threads = min(threads, count, items)
    if threads <= 1 || !shares {
      let next = Atomic<Int>(0)
      parallelFor(max(threads, 1)) { worker in
        while true {
          let item = next.wrappingAdd(1, ordering: .relaxed).oldValue
          guard item < items else { break }
          body(worker, item)
        }
      }
      return
    }
    withoutActuallyEscaping(body) { body in
      var work = body
      unsafe withUnsafeMutablePointer(to: &work) { pointer in
        unsafe gc_parallel_items(Int64(items), Int32(threads), { context, slot, item in
          let body = unsafe context!.assumingMemoryBound(
            to: ((Int, Int) -> Void).self).pointee
          body(Int(slot), Int(item))
        }, pointer)
      }
    }
  }

  /// Runs `body(index)` for every index in `0..<count`, spread over up to `Threads.count`
  /// threads, each taking the next unclaimed index. Runs inline when one thread suffices.
  ///
  /// The threads are a pool that lives for the process: between loops its workers spin for
  /// a while (`GROUPCONV_SPIN_US`, 500 µs by default) before they sleep, so that the loops
  /// of a model's consecutive layers do not each pay a thread wake-up (10–20 µs here).
  package static func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    let threads = min(Self.count, count)
    if threads <= 1 {
      for index in 0..<count { body(index) }
      return
    }
    withoutActuallyEscaping(body) { body in
      // gc_parallel_for returns only when every task has, so `body` outlives them.
      var work = body
      unsafe withUnsafeMutablePointer(to: &work) { pointer in
        unsafe gc_parallel_for(Int64(count), Int32(threads), { context, index in
          let body = unsafe context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee
          body(Int(index))
        }, pointer)
      }
    }
  }
}
