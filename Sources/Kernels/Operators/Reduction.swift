/// How a reduction combines the elements it reduces.
package enum ReduceOperation: Equatable, Sendable {
  case sum, mean, max
}

/// A reduction of a tensor over some axes, planned once for its shape: the input walked row
/// by row (`StridedPair`), each row either folded into one output element (its axis reduced)
/// or combined elementwise into an output row (its axis kept).
package struct Reduction: Sendable {
  package let operation: ReduceOperation
  let loops: StridedPair
  let counts: (input: Int, output: Int)

  /// `axes` are indices into `shape`, each in 0..<shape.count.
  package init(_ operation: ReduceOperation, shape: [Int], axes: Set<Int>) {
    self.operation = operation
    let kept = shape.indices.map { axes.contains($0) ? 1 : shape[$0] }
    var outputStrides = contiguousStrides(kept)
    for axis in axes { outputStrides[axis] = 0 }
    loops = StridedPair(shape: shape, contiguousStrides(shape), outputStrides)
    counts = (shape.reduce(1, *), kept.reduce(1, *))
  }

  package func run(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>) {
    precondition(x.count == counts.input && y.count == counts.output)
    unsafe y.update(repeating: operation == .max ? -.infinity : 0)
    guard counts.input > 0, let x = x.baseAddress, let y = y.baseAddress else { return }
    let length = loops.rowLength
    for row in 0..<loops.rowCount {
      let (xOffset, yOffset) = loops.offsets(ofRow: row)
      let source = unsafe x + xOffset
      switch (operation, loops.steps.1) {
      case (.max, 0):
        var best = unsafe y[yOffset]
        for i in 0..<length { best = Swift.max(best, unsafe source[i]) }
        unsafe y[yOffset] = best
      case (_, 0):
        unsafe y[yOffset] += sum(UnsafeBufferPointer(start: source, count: length))
      case (.max, _):
        let target = unsafe y + yOffset
        for i in 0..<length { unsafe target[i] = Swift.max(target[i], source[i]) }
      default:
        let target = unsafe y + yOffset
        for i in 0..<length { unsafe target[i] += source[i] }
      }
    }
    if operation == .mean, counts.output > 0 {
      let scale = Float(counts.output) / Float(counts.input)
      for i in 0..<counts.output { unsafe y[i] *= scale }
    }
  }
}

extension Reference {
  /// The reduction one input element at a time, in `Double`: the oracle of `Reduction`.
  /// Returns the output with the reduced axes kept as size 1.
  package static func reduce(
    _ operation: ReduceOperation, _ x: [Float], shape: [Int], axes: Set<Int>
  ) -> [Float] {
    let kept = shape.indices.map { axes.contains($0) ? 1 : shape[$0] }
    let strides = contiguousStrides(kept)
    let count = kept.reduce(1, *)
    var sums = [Double](repeating: 0, count: count)
    var best = [Float](repeating: -.infinity, count: count)
    for flat in x.indices {
      var (rest, target) = (flat, 0)
      for axis in shape.indices.reversed() {
        let index = rest % shape[axis]
        rest /= shape[axis]
        if !axes.contains(axis) { target += index * strides[axis] }
      }
      sums[target] += Double(x[flat])
      best[target] = Swift.max(best[target], x[flat])
    }
    let reduced = Double(x.count / Swift.max(count, 1))
    switch operation {
    case .sum: return sums.map { Float($0) }
    case .mean: return sums.map { Float($0 / reduced) }
    case .max: return best
    }
  }
}
