import Foundation
import CKernels
import Kernels

/// The instruction sets this machine runs, best first (`GC_ISA_AVX512`, `GC_ISA_AVX2`,
/// `GC_ISA_GENERIC`, as far as the CPU has them): what `gc_use_isa` takes.
public var instructionSets: [Int32] { Array((0...gc_cpu_isa()).reversed()) }

/// Runs `body` with each instruction set the machine has (`instructionSets`) and 1 and 2
/// threads, naming the configuration, then restores the run-time choice and the
/// thread count. Both are process-wide: only for suites that run one test at a time and
/// alone in changing them.
public func forEachKernelConfiguration(_ body: (String) throws -> Void) rethrows {
  // One test target's loop at a time: the settings are process-wide, and suites of several
  // test targets run side by side.
  kernelSettingsLock.lock()
  defer { kernelSettingsLock.unlock() }
  let threads = Threads.count
  defer {
    gc_use_isa(-1)
    Threads.count = threads
  }
  for isa in instructionSets {
    gc_use_isa(isa)
    for count in [1, 2] {
      Threads.count = count
      try body("\(Machine.instructionSet), \(count) threads")
    }
  }
}

/// Held while a test changes the process-wide settings.
private let kernelSettingsLock = NSRecursiveLock()

/// Takes the lock of the process-wide kernel settings (`Threads.count`, the instruction
/// set), for a test that changes them itself; `unlockKernelSettings()` gives it back.
/// Synchronous code only: the lock belongs to the thread that took it.
public func lockKernelSettings() { kernelSettingsLock.lock() }

/// Gives back the lock `lockKernelSettings()` took.
public func unlockKernelSettings() { kernelSettingsLock.unlock() }

/// `body` while no other test changes the process-wide kernel settings: for results compared
/// exactly, which a change of instruction set or thread count in the middle of a call (from a
/// suite running alongside) could round differently.
public func withSteadyKernelSettings<T>(_ body: () throws -> T) rethrows -> T {
  kernelSettingsLock.lock()
  defer { kernelSettingsLock.unlock() }
  return try body()
}
