import Dispatch
import Synchronization
import TestSupport
import Testing

@testable import Kernels

/// `Threads.parallelFor` and `Threads.forEachItem` run every index once, whoever calls them
/// and however they nest.
extension KernelSettingsSuites {
  @Suite struct ThreadPoolTests {
    /// Puts back the thread count a test changed and releases the kernel settings.
    private func restore(_ threads: Int) {
      Threads.count = threads
      unlockKernelSettings()
    }

    @Test(arguments: [1, 2, 3, 7, 64, 1000])
    func everyIndexRunsExactlyOnce(_ count: Int) {
      lockKernelSettings()
      let saved = Threads.count
      defer { restore(saved) }
      for threads in [1, 2, 3] {
        Threads.count = threads
        let hits = Mutex([Int](repeating: 0, count: count))
        Threads.parallelFor(count) { index in hits.withLock { $0[index] += 1 } }
        #expect(hits.withLock { $0.allSatisfy { $0 == 1 } }, "\(threads) threads")
      }
    }

    @Test func aLoopInsideATaskRunsInline() {
      lockKernelSettings()
      let saved = Threads.count
      defer { restore(saved) }
      Threads.count = 2
      let total = Atomic<Int>(0)
      Threads.parallelFor(8) { _ in
        Threads.parallelFor(5) { index in total.add(index, ordering: .relaxed) }
      }
      #expect(total.load(ordering: .relaxed) == 8 * 10)
    }

    @Test func loopsFromSeveralThreadsAtOnceAllFinish() {
      lockKernelSettings()
      let saved = Threads.count
      defer { restore(saved) }
      Threads.count = 2
      let sums = Mutex([Int](repeating: 0, count: 6))
      DispatchQueue.concurrentPerform(iterations: 6) { caller in
        let total = Atomic<Int>(0)
        for _ in 0..<50 {
          Threads.parallelFor(37) { index in total.add(index + caller, ordering: .relaxed) }
        }
        sums.withLock { $0[caller] = total.load(ordering: .relaxed) }
      }
      #expect(sums.withLock { $0 } == (0..<6).map { 50 * (666 + 37 * $0) })
    }

    /// Every item once; the worker numbers are below `threads`, and no two threads hold the
    /// same one at a time (kernels index their scratch buffers with it).
    @Test(arguments: [1, 2, 5, 64, 1000])
    func everyItemRunsOnceWithAWorkerOfItsOwn(_ items: Int) {
      lockKernelSettings()
      let saved = Threads.count
      defer { restore(saved) }
      for (poolThreads, threads) in [(1, 1), (2, 2), (3, 2), (3, 3), (4, 8)] {
        Threads.count = poolThreads
        let hits = Mutex([Int](repeating: 0, count: items))
        let busy = Mutex([Bool](repeating: false, count: max(threads, 1)))
        let clashes = Atomic<Int>(0)
        Threads.forEachItem(items, threads: threads) { worker, item in
          let clash = busy.withLock { busy in
            defer { busy[worker] = true }
            return worker >= min(threads, poolThreads) || busy[worker]
          }
          if clash { clashes.add(1, ordering: .relaxed) }
          hits.withLock { $0[item] += 1 }
          busy.withLock { $0[worker] = false }
        }
        let label = "\(poolThreads) pool threads, \(threads) asked"
        #expect(hits.withLock { $0.allSatisfy { $0 == 1 } }, "\(label)")
        #expect(clashes.load(ordering: .relaxed) == 0, "\(label)")
      }
    }

    /// Items inside another loop's task run inline, all of them.
    @Test func itemsInsideATaskRunInline() {
      lockKernelSettings()
      let saved = Threads.count
      defer { restore(saved) }
      Threads.count = 2
      let total = Atomic<Int>(0)
      Threads.forEachItem(6, threads: 2) { _, _ in
        Threads.forEachItem(5, threads: 2) { _, item in total.add(item, ordering: .relaxed) }
      }
      #expect(total.load(ordering: .relaxed) == 6 * 10)
    }
  }
}
