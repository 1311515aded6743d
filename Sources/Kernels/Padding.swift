import Tensors

extension Reference {
  /// x padded by `begin` and `end` per spatial dimension, with what `mode` reads outside x.
  /// x: [N, C, size...]   → [N, C, size + begin + end ...]
  package static func pad(
    _ x: [Float], shape: [Int], begin: [Int], end: [Int], mode: PaddingMode
  ) -> [Float] {
    let map = PaddingMap(shape: shape, begin: begin, end: end, mode: mode)
    precondition(x.count == map.sourceCount)
    var padded = [Float](repeating: 0, count: map.paddedCount)
    map.forEach { target, source in padded[target] = x[source] }
    return padded
  }

  /// The gradient of `pad`: each padded element's gradient flows back to the x element it
  /// was read from, so mirrored, repeated or wrapped elements collect several.
  /// dPadded: [N, C, size + begin + end ...]   → dx: [N, C, size...]
  package static func padGradient(
    _ dPadded: [Float], shape: [Int], begin: [Int], end: [Int], mode: PaddingMode
  ) -> [Float] {
    let map = PaddingMap(shape: shape, begin: begin, end: end, mode: mode)
    precondition(dPadded.count == map.paddedCount)
    var dx = [Double](repeating: 0, count: map.sourceCount)
    map.forEach { target, source in dx[source] += Double(dPadded[target]) }
    return dx.map { Float($0) }
  }
}

/// Which element of an [N, C, size...] tensor each element of its padded copy reads, as
/// one table of source positions per spatial dimension (1-D and 2-D get leading extents of 1).
struct PaddingMap {
  /// Source position per padded position, or -1 where zeros are read; depth, height, width.
  let tables: [[Int]]
  /// N·C, and the source extents: depth, height, width.
  let planes: Int
  let size: [Int]

  init(shape: [Int], begin: [Int], end: [Int], mode: PaddingMode) {
    let spatialRank = shape.count - 2
    precondition(begin.count == spatialRank && end.count == spatialRank)
    let leading = 3 - spatialRank
    let size = Array(repeating: 1, count: leading) + shape[2...]
    let begin = Array(repeating: 0, count: leading) + begin
    let end = Array(repeating: 0, count: leading) + end
    self.tables = (0..<3).map { axis in
      (-begin[axis]..<size[axis] + end[axis]).map { Self.source($0, size: size[axis], mode) ?? -1 }
    }
    self.planes = shape[0] * shape[1]
    self.size = size
  }

  var sourceCount: Int { planes * size.reduce(1, *) }
  var paddedCount: Int { planes * tables.map(\.count).reduce(1, *) }

  /// Calls `body(paddedOffset, sourceOffset)` for every padded element that reads x.
  func forEach(_ body: (Int, Int) -> Void) {
    var target = 0
    for plane in 0..<planes {
      for z in tables[0] {
        for r in tables[1] {
          for q in tables[2] {
            if z >= 0 && r >= 0 && q >= 0 {
              body(target, ((plane * size[0] + z) * size[1] + r) * size[2] + q)
            }
            target += 1
          }
        }
      }
    }
  }

  /// The position inside [0, size) that position `i` (which may lie outside) reads.
  static func source(_ i: Int, size: Int, _ mode: PaddingMode) -> Int? {
    if i >= 0 && i < size { return i }
    switch mode {
    case .zeros: return nil
    case .reflect: return i < 0 ? -i : 2 * (size - 1) - i
    case .replicate: return min(max(i, 0), size - 1)
    case .circular: return ((i % size) + size) % size
    }
  }
}
