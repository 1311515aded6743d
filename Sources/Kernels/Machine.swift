import CKernels

/// Facts about this machine that the kernels use or report.
package enum Machine {
  /// The instruction set of the C microkernels: "avx512", "avx2" or "generic".
  package static var instructionSet: String { unsafe String(cString: gc_isa_name()) }

  /// Whether the AVX2 kernels run (the CPU has AVX2 and FMA but not AVX-512, or the
  /// environment chose them): their register tiles are smaller, which moves some choices.
  package static var usesAVX2: Bool { Int(gc_isa()) == Int(GC_ISA_AVX2) }

  /// Whether the AVX-512 kernels run.
  package static var usesAVX512: Bool { Int(gc_isa()) == Int(GC_ISA_AVX512) }

  /// Bytes of the last-level cache, as the operating system reports it, or nil when unknown.
  package static let lastLevelCacheBytes: Int? = {
    let bytes = Int(gc_last_level_cache_bytes())
    return bytes > 0 ? bytes : nil
  }()

  /// The FMA peak in GFLOP/s over `threads` threads, timed with a loop of independent
  /// vector FMAs for about `seconds`.
  package static func measureFMAPeak(threads: Int, seconds: Double = 0.2) -> Double {
    let clock = ContinuousClock()
    let flopsPerIteration = 24.0 * 16 * 2
    // Calibrate the iteration count on one thread, then run it on every thread at once.
    var iterations = 1 << 16
    while true {
      let elapsed = clock.measure { _ = gc_fma_peak(iterations) }
      if elapsed > .milliseconds(20) || iterations >= 1 << 30 {
        iterations = Int(Double(iterations) * seconds / elapsed.seconds)
        break
      }
      iterations *= 4
    }
    let count = max(1, threads)
    let previous = Threads.count
    Threads.count = count
    defer { Threads.count = previous }
    // The best of a few short trials: other processes only ever slow a trial down.
    var best = 0.0
    for _ in 0..<5 {
      let elapsed = clock.measure {
        Threads.parallelFor(count) { _ in _ = gc_fma_peak(iterations / 5) }
      }
      best = max(best, Double(count * (iterations / 5)) * flopsPerIteration / elapsed.seconds)
    }
    return best / 1e9
  }
}

extension Duration {
  /// The duration in seconds.
  package var seconds: Double {
    let (seconds, attoseconds) = components
    return Double(seconds) + Double(attoseconds) * 1e-18
  }
}
