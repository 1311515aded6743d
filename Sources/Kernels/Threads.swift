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

  /// Runs `body(worker, item)` for every item in `0..<items` on up to `threads` threads
  /// (worker in `0..<threads`), each thread taking the next unclaimed item, so that items of
  /// uneven cost, or a thread the OS delays, still end together.
  package static func forEachItem(
    _ items: Int, threads: Int, _ body: (_ worker: Int, _ item: Int) -> Void
  ) {
    let next = Atomic<Int>(0)
    parallelFor(threads) { worker in
      while true {
        let item = next.wrappingAdd(1, ordering: .relaxed).oldValue
        guard item < items else { break }
        body(worker, item)
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
