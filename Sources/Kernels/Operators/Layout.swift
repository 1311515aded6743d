import CKernels

/// Copies that move float elements without computing: transposes, slices, gathers,
/// concatenations, splits and padding.
package enum Layout {
  /// y[i] = x[origin + Σ index · strides] over a contiguous y of `shape` (strides may be
  /// negative or zero): a transpose is permuted strides, a slice an origin and scaled ones.
  package static func copy(
    _ x: UnsafeBufferPointer<Float>, origin: Int, strides: [Int], shape: [Int],
    into y: UnsafeMutableBufferPointer<Float>
  ) {
    let loops = StridedPair(
      shape: shape, strides, contiguousStrides(shape), origins: (origin, 0))
    precondition(y.count == shape.reduce(1, *))
    guard y.count > 0, let x = x.baseAddress, let y = y.baseAddress else { return }
    let (length, step) = (loops.rowLength, loops.steps.0)
    for row in 0..<loops.rowCount {
      let (from, to) = loops.offsets(ofRow: row)
      let (source, target) = unsafe (x + from, y + to)
      if step == 1 {
        unsafe target.update(from: source, count: length)
      } else {
        for i in 0..<length { unsafe target[i] = source[i * step] }
      }
    }
  }

  /// y[b][c][r] = x[b][r][c] · scale[c] + residual[b][c][r] for `batch` matrices of `rows` ×
  /// `columns` (no scale when `scale` is nil, nothing added when `residual` is; `residual`
  /// may be y): a transpose that swaps two groups of dimensions (NCHW ↔ NHWC), 16 × 16 floats
  /// at a time (16 vector loads, a transpose in registers, 16 vector stores), runs of 16 rows
  /// spread over threads.
  package static func transposeMatrices(
    _ x: UnsafePointer<Float>, batch: Int, rows: Int, columns: Int,
    scale: UnsafePointer<Float>? = nil, adding residual: UnsafePointer<Float>? = nil,
    into y: UnsafeMutablePointer<Float>
  ) {
    let runs = (rows + 15) / 16
    // Up to 8 parts a matrix: a few per thread even for 96 rows (6 runs).
    let parts = Swift.min(runs, 8)
    let work = { (task: Int) in
      let (b, part) = task.quotientAndRemainder(dividingBy: parts)
      let offset = b * rows * columns
      unsafe gc_transpose(
        x + offset, y + offset, Int64(rows), Int64(columns),
        Int64(Swift.min(rows, runs * part / parts * 16)),
        Int64(Swift.min(rows, runs * (part + 1) / parts * 16)), scale,
        residual.map { unsafe $0 + offset })
    }
    if batch * rows * columns < 1 << 15 {
      for task in 0..<(batch * parts) { work(task) }
    } else {
      Threads.parallelFor(batch * parts, work)
    }
  }

  /// Copies `count` blocks of `length` floats, block b from x + b · xStride to
  /// y + b · yStride: one input of a concatenation, one output of a split, one index of a
  /// gather.
  package static func copyBlocks(
    count: Int, length: Int, from x: UnsafePointer<Float>, stride xStride: Int,
    to y: UnsafeMutablePointer<Float>, stride yStride: Int
  ) {
    for block in 0..<count {
      unsafe (y + block * yStride).update(from: x + block * xStride, count: length)
    }
  }
}

/// Padding of an N-dimensional tensor, planned as one table per dimension of the source
/// position each output position reads (−1: the constant). Pads may be negative (cropping).
package struct PadPlan: Sendable {
  package enum Mode: Equatable, Sendable { case constant, reflect, edge, wrap }

  package let inputShape, outputShape: [Int]
  let tables: [[Int]]
  let value: Float

  /// `begin` and `end` per dimension; every output size `input + begin + end` must be ≥ 0,
  /// and reflect, edge and wrap need each padded dimension of size ≥ 1.
  package init(shape: [Int], begin: [Int], end: [Int], mode: Mode, value: Float) {
    precondition(begin.count == shape.count && end.count == shape.count)
    inputShape = shape
    outputShape = shape.indices.map { shape[$0] + begin[$0] + end[$0] }
    tables = shape.indices.map { axis in
      let size = shape[axis]
      return (-begin[axis]..<size + end[axis]).map { i in
        if i >= 0 && i < size { return i }
        switch mode {
        case .constant: return -1
        case .edge: return Swift.min(Swift.max(i, 0), size - 1)
        case .wrap: return ((i % size) + size) % size
        case .reflect:
          guard size > 1 else { return 0 }
          let period = 2 * (size - 1)
          let folded = ((i % period) + period) % period
          return folded < size ? folded : period - folded
        }
      }
    }
    self.value = value
  }

  package func run(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>) {
    precondition(x.count == inputShape.reduce(1, *) && y.count == outputShape.reduce(1, *))
    guard let inner = tables.last else {  // a scalar
      _ = unsafe y.update(fromContentsOf: x)
      return
    }
    guard x.count > 0, let x = x.baseAddress else {  // nothing to read: all constant
      unsafe y.update(repeating: value)
      return
    }
    guard y.count > 0, let y = y.baseAddress else { return }
    let xStrides = contiguousStrides(inputShape)
    let rows = outputShape.dropLast().reduce(1, *)
    for row in 0..<rows {
      var (rest, source) = (row, 0)
      for axis in tables.indices.dropLast().reversed() {
        let position = tables[axis][rest % outputShape[axis]]
        rest /= outputShape[axis]
        if position < 0 {
          source = -1
          break
        }
        source += position * xStrides[axis]
      }
      let target = unsafe y + row * inner.count
      if source < 0 {
        for i in inner.indices { unsafe target[i] = value }
      } else {
        for i in inner.indices {
          let position = inner[i]
          unsafe target[i] = position < 0 ? value : x[source + position]
        }
      }
    }
  }
}
