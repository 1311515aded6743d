import Dispatch
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

  /// Runs `body(index)` for every index in `0..<count`, spread over up to `Threads.count`
  /// threads, each taking the next unclaimed index. Runs inline when one thread suffices.
  package static func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    let threads = min(Self.count, count)
    if threads <= 1 {
      for index in 0..<count { body(index) }
      return
    }
    let next = Atomic<Int>(0)
    withoutActuallyEscaping(body) { body in
      // concurrentPerform returns only when every iteration has, so `body` outlives them.
      nonisolated(unsafe) let work = body
      DispatchQueue.concurrentPerform(iterations: threads) { _ in
        while true {
          let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
          guard index < count else { return }
          unsafe work(index)
        }
      }
    }
  }
}
