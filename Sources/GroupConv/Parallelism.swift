import Kernels

/// How GroupConv uses this machine's cores.
public enum Parallelism {
  /// The number of threads convolutions run on: by default `GROUPCONV_THREADS` from the
  /// environment, else the number of active processors. Values below 1 count as 1.
  public static var threads: Int {
    get { Threads.count }
    set { Threads.count = newValue }
  }

  /// The instruction set of the SIMD kernels in use: "avx512", "avx2" or "generic". Set
  /// `GROUPCONV_ISA=generic` (or `avx2`) in the environment to use the portable (or AVX2)
  /// kernels on a CPU that has more.
  public static var instructionSet: String { Machine.instructionSet }

  /// This machine's FMA peak in GFLOP/s on `threads` threads, measured now (about 0.2 s):
  /// what benchmark figures are reported against.
  public static func measureFMAPeak(threads: Int = Parallelism.threads) -> Double {
    Machine.measureFMAPeak(threads: threads)
  }
}
