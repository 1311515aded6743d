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
    for index in padded.indices {
      if let source = map.source(of: index) { padded[index] = x[source] }
    }
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
    for index in dPadded.indices {
      if let source = map.source(of: index) { dx[source] += Double(dPadded[index]) }
    }
    return dx.map { Float($0) }
  }
}

/// Which element of an [N, C, size...] tensor each element of its padded copy reads.
struct PaddingMap {
  let shape: [Int]
  let paddedShape: [Int]
  let begin: [Int]
  let mode: PaddingMode

  init(shape: [Int], begin: [Int], end: [Int], mode: PaddingMode) {
    let spatialRank = shape.count - 2
    precondition(begin.count == spatialRank && end.count == spatialRank)
    self.shape = shape
    self.paddedShape = Array(shape[..<2]) + (0..<spatialRank).map {
      shape[$0 + 2] + begin[$0] + end[$0]
    }
    self.begin = begin
    self.mode = mode
  }

  var sourceCount: Int { shape.reduce(1, *) }
  var paddedCount: Int { paddedShape.reduce(1, *) }

  /// The source offset of padded element `index`, or `nil` where zeros are read.
  func source(of index: Int) -> Int? {
    var remainder = index
    var coordinates = [Int](repeating: 0, count: shape.count)
    for axis in stride(from: shape.count - 1, through: 0, by: -1) {
      (remainder, coordinates[axis]) = remainder.quotientAndRemainder(dividingBy: paddedShape[axis])
    }
    var offset = 0
    for axis in 0..<shape.count {
      var position = coordinates[axis]
      if axis >= 2 {
        guard let mapped = Self.source(position - begin[axis - 2], size: shape[axis], mode)
        else { return nil }
        position = mapped
      }
      offset = offset * shape[axis] + position
    }
    return offset
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
