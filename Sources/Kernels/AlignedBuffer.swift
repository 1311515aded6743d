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

  deinit { unsafe UnsafeMutableRawPointer(pointer).deallocate() }

  package var buffer: UnsafeMutableBufferPointer<Float> {
    unsafe UnsafeMutableBufferPointer(start: pointer, count: count)
  }
}
