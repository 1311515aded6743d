import Dispatch
import Synchronization
import TestSupport
import Testing

@testable import Kernels

/// `Threads.parallelFor` runs every index once, whoever calls it and however it nests.
extension KernelSettingsSuites {
  @Suite struct ThreadPoolTests {
    @Test(arguments: [1, 2, 3, 7, 64, 1000])
    func everyIndexRunsExactlyOnce(_ count: Int) {
      lockKernelSettings()
      let saved = Threads.count
      defer {
        Threads.count = saved
        unlockKernelSettings()
      }
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
      defer {
        Threads.count = saved
        unlockKernelSettings()
      }
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
      defer {
        Threads.count = saved
        unlockKernelSettings()
      }
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
  }
}
