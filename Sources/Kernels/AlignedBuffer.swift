import Synchronization

/// A fixed-size float buffer aligned to 64 bytes (one cache line, one AVX-512 register), so
/// that vector loads never split cache lines. Owned by whoever holds it; freed with it.
@safe package final class AlignedBuffer: @unchecked Sendable {
  package let count: Int
  package let pointer: UnsafeMutablePointer<Float>

  /// `count` floats, zero-filled.
  package init(count: Int) {
    self.count = count
    let raw = UnsafeMutableRawPointer.allocate(
      byteCount: max(1, count) * MemoryLayout<Float>.stride, alignment: 64)
    unsafe pointer = raw.bindMemory(to: Float.self, capacity: max(1, count))
    unsafe self.pointer.initialize(repeating: 0, count: max(1, count))
  }

  /// A copy of `values`.
  package convenience init(_ values: [Float]) {
    self.init(count: values.count)
    for (i, v) in values.enumerated() { unsafe pointer[i] = v }
  }

  deinit { unsafe UnsafeMutableRawPointer(pointer).deallocate() }

  package var buffer: UnsafeMutableBufferPointer<Float> {
    unsafe UnsafeMutableBufferPointer(start: pointer, count: count)
  }
}

/// Scratch buffers kept between the calls of a kernel: a call takes one per thread before
/// its threads start and gives them back after they end, so that the threads never wait on
/// each other for a lock, and overlapping calls each get their own. A call neither allocates
/// nor faults pages in once the pool holds enough. A kernel's pool serves only that kernel:
/// some C kernels rely on padding they never write staying zero from the (zero-filled) start.
package final class ScratchPool<Buffer: AnyObject & Sendable>: Sendable {
  private let free = Mutex<[Buffer]>([])

  package init() {}

  /// `count` buffers: kept ones first, then new ones from `make`.
  package func take(_ count: Int, making make: () -> Buffer) -> [Buffer] {
    var taken = free.withLock { free in
      let taken = Array(free.suffix(count))
      free.removeLast(taken.count)
      return taken
    }
    while taken.count < count { taken.append(make()) }
    return taken
  }

  package func give(_ buffers: [Buffer]) {
    free.withLock { $0.append(contentsOf: buffers) }
  }

  /// Runs `body` with `count` buffers (`take`), then gives them back.
  package func withBuffers<R>(
    _ count: Int, making make: () -> Buffer, _ body: ([Buffer]) throws -> R
  ) rethrows -> R {
    let buffers = take(count, making: make)
    defer { give(buffers) }
    return try body(buffers)
  }
}

extension ScratchPool where Buffer == AlignedBuffer {
  /// Runs `body` with `count` buffers of `floats` floats each, then gives them back.
  package func withBuffers<R>(
    _ count: Int, floats: Int, _ body: ([AlignedBuffer]) throws -> R
  ) rethrows -> R {
    try withBuffers(count, making: { AlignedBuffer(count: floats) }, body)
  }
}
