#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The memory this process can still allocate, so that work too large for it is refused
/// with an error before it starts instead of ending the process when an allocation fails.
public enum MemoryBudget {
  /// Bytes: the machine's physical memory, or under an address-space limit (`ulimit -v`,
  /// RLIMIT_AS) what the limit leaves beyond the process's present mappings, whichever is
  /// smaller; `Int.max` when neither is known.
  public static var availableBytes: Int {
    var available = Int.max
    let pages = sysconf(Int32(_SC_PHYS_PAGES))
    let pageSize = sysconf(Int32(_SC_PAGESIZE))
    if pages > 0, pageSize > 0 {
      available = pages.multipliedReportingOverflow(by: pageSize).overflow ? .max : pages * pageSize
    }
    var limit = rlimit()
    #if canImport(Glibc)
      let resource = __rlimit_resource_t(RLIMIT_AS.rawValue)
    #else
      let resource = RLIMIT_AS
    #endif
    // No limit is RLIM_INFINITY, the largest value.
    if getrlimit(resource, &limit) == 0, limit.rlim_cur < rlim_t(Int.max) {
      available = min(available, max(0, Int(limit.rlim_cur) - mappedBytes))
    }
    return available
  }

  /// The process's virtual size (Linux: the first field of /proc/self/statm, in pages), or 0
  /// when it cannot be read.
  static var mappedBytes: Int {
    let descriptor = open("/proc/self/statm", O_RDONLY)
    guard descriptor >= 0 else { return 0 }
    defer { close(descriptor) }
    var text = [UInt8](repeating: 0, count: 64)
    let count = text.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
    guard count > 0 else { return 0 }
    var pages = 0
    for byte in text.prefix(count) {
      guard (0x30...0x39).contains(byte), pages < Int.max / 20 else { break }
      pages = pages * 10 + Int(byte - 0x30)
    }
    return pages * max(1, sysconf(Int32(_SC_PAGESIZE)))
  }

  /// The bytes that work of `bytes` · `factor` needs (Int.max past it) and what the process
  /// can allocate, when the first is more; nil when it fits.
  public static func shortfall(_ bytes: Int, times factor: Int = 1) -> (needed: Int, available: Int)? {
    let (needed, overflow) = bytes.multipliedReportingOverflow(by: factor)
    let available = availableBytes
    guard overflow || needed > available else { return nil }
    return (overflow ? .max : needed, available)
  }

  /// The end of a message refusing such work: "but the process can allocate only 2.8 GiB
  /// more (physical memory, or ulimit -v)".
  public static func refusal(available: Int) -> String {
    "but the process can allocate only \(describe(available)) more (physical memory, or ulimit -v)"
  }

  /// "1.5 GiB", "300 MiB": a byte count for messages.
  public static func describe(_ bytes: Int) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    return unit == 0 ? "\(bytes) bytes" : "\((value * 10).rounded() / 10) \(units[unit])"
  }
}
