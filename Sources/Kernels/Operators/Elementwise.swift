import CKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A function of two floats applied elementwise: ONNX's arithmetic operators.
package enum BinaryOperation: Sendable {
  case add, subtract, multiply, divide, power, maximum, minimum

  /// The arithmetic as `gc_binary` runs it, vectorized.
  var kind: gc_binary_kind? {
    switch self {
    case .add: GC_BINARY_ADD
    case .subtract: GC_BINARY_SUBTRACT
    case .multiply: GC_BINARY_MULTIPLY
    case .divide: GC_BINARY_DIVIDE
    default: nil
    }
  }

  /// The function at one pair: the plain definition the row loops are tested against.
  /// `maximum` and `minimum` return NaN when either operand is NaN, as ONNX's Max and Min.
  @inline(__always)
  package func value(_ a: Float, _ b: Float) -> Float {
    switch self {
    case .add: a + b
    case .subtract: a - b
    case .multiply: a * b
    case .divide: a / b
    case .power: powf(a, b)
    case .maximum: a.isNaN || b.isNaN ? .nan : Swift.max(a, b)
    case .minimum: a.isNaN || b.isNaN ? .nan : Swift.min(a, b)
    }
  }
}

/// An elementwise binary operation under numpy (multidirectional) broadcasting, planned once
/// for its shapes: y[i] = a[i'] ∘ b[i''] with a and b read through broadcast strides.
///
/// The loop nest is `StridedPair` rows of the output: a row reads each operand either
/// contiguously or as one repeated value, so the same-shape case is one long row, a scalar
/// operand a row with a fixed value, and a per-channel [C, 1, 1] operand rows of H·W with one
/// value each; the row loops vectorize.
package struct BroadcastBinary: Sendable {
  package let operation: BinaryOperation
  package let outputShape: [Int]
  let loops: StridedPair
  let counts: (Int, Int, Int)

  /// `a` and `b` must broadcast to `outputShape` (which need not be their broadcast: a
  /// variadic Sum folds each input into the full output).
  package init(_ operation: BinaryOperation, a: [Int], b: [Int], outputShape: [Int]) {
    self.operation = operation
    self.outputShape = outputShape
    loops = StridedPair(
      shape: outputShape, broadcastStrides(a, to: outputShape),
      broadcastStrides(b, to: outputShape))
    counts = (a.reduce(1, *), b.reduce(1, *), outputShape.reduce(1, *))
  }

  /// y = a ∘ b; y may be a itself when a has the output's shape (each element is read
  /// before the same element is written).
  package func run(
    _ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>,
    into y: UnsafeMutableBufferPointer<Float>
  ) {
    precondition(a.count == counts.0 && b.count == counts.1 && y.count == counts.2)
    guard counts.2 > 0, let a = a.baseAddress, let b = b.baseAddress, let y = y.baseAddress
    else { return }
    let loops = self.loops
    let length = loops.rowLength
    if let kind = operation.kind, loops.sizes.count == 1 {
      // One outer dimension (a per-channel operand, or a row broadcast): runs of rows, one
      // C call each.
      unsafe runRows(kind, a, b, y)
      return
    }
    // Pieces of rows of at most 16 Ki elements, in `chunks`.
    let piece = Swift.min(Swift.max(length, 1), 1 << 14)
    let piecesPerRow = (length + piece - 1) / piece
    let pieces = loops.rowCount * piecesPerRow
    let total = loops.rowCount * length
    let chunks = Self.chunks(total)
    let piecesPerChunk = Swift.max(1, (pieces + chunks - 1) / chunks)
    Threads.parallelFor((pieces + piecesPerChunk - 1) / piecesPerChunk) { chunk in
      for index in chunk * piecesPerChunk..<Swift.min(pieces, (chunk + 1) * piecesPerChunk) {
        let (row, part) = index.quotientAndRemainder(dividingBy: piecesPerRow)
        let start = part * piece
        let count = Swift.min(piece, length - start)
        let (aOffset, bOffset) = loops.offsets(ofRow: row)
        let out = unsafe y + row * length + start
        let (left, right) = unsafe (
          a + aOffset + start * loops.steps.0, b + bOffset + start * loops.steps.1
        )
        switch operation {
        case .add, .subtract, .multiply, .divide:
          unsafe gc_binary(
            operation.kind!, out, left, Int64(loops.steps.0), right, Int64(loops.steps.1),
            Int64(count))
        case .power: unsafe Self.row(out, left, right, count, loops.steps) { powf($0, $1) }
        case .maximum:
          unsafe Self.row(out, left, right, count, loops.steps) {
            $0.isNaN || $1.isNaN ? .nan : Swift.max($0, $1)
          }
        case .minimum:
          unsafe Self.row(out, left, right, count, loops.steps) {
            $0.isNaN || $1.isNaN ? .nan : Swift.min($0, $1)
          }
        }
      }
    }
  }

  /// y = a ∘ b with one outer dimension of rows: runs of rows (`chunks`), each one
  /// `gc_binary_rows` call.
  private func runRows(
    _ kind: gc_binary_kind, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    _ y: UnsafeMutablePointer<Float>
  ) {
    let loops = self.loops
    let (rows, length) = (loops.rowCount, loops.rowLength)
    let total = rows * length
    let chunks = Self.chunks(total)
    let runs = Swift.min(rows, chunks)
    Threads.parallelFor(runs) { run in
      let first = rows * run / runs
      let count = rows * (run + 1) / runs - first
      let (aOffset, bOffset) = loops.offsets(ofRow: first)
      unsafe gc_binary_rows(
        kind, y + first * length, a + aOffset, Int64(loops.strides.0[0]), Int64(loops.steps.0),
        b + bOffset, Int64(loops.strides.1[0]), Int64(loops.steps.1), Int64(count),
        Int64(length))
    }
  }

  /// Chunks for `total` elements: one below 64 Ki, else chunks of about 64 Ki and at least
  /// 4 per thread, so that the threads finish together.
  private static func chunks(_ total: Int) -> Int {
    total < 1 << 16 ? 1 : Swift.max((total + (1 << 16) - 1) >> 16, 4 * Threads.count)
  }

  /// One row: y[i] = f(a[i · steps.0], b[i · steps.1]), each step 0 or 1.
  @inline(__always)
  static func row(
    _ y: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    _ count: Int, _ steps: (Int, Int), _ f: (Float, Float) -> Float
  ) {
    switch steps {
    case (1, 1): for i in 0..<count { unsafe y[i] = f(a[i], b[i]) }
    case (1, _):
      let b = unsafe b[0]
      for i in 0..<count { unsafe y[i] = f(a[i], b) }
    case (_, 1):
      let a = unsafe a[0]
      for i in 0..<count { unsafe y[i] = f(a, b[i]) }
    default:
      let value = unsafe f(a[0], b[0])
      for i in 0..<count { unsafe y[i] = value }
    }
  }
}

extension Reference {
  /// a ∘ b under numpy broadcasting, one output element at a time from its indices: the
  /// oracle of `BroadcastBinary`.
  package static func broadcast(
    _ operation: BinaryOperation, _ a: [Float], shape aShape: [Int], _ b: [Float],
    shape bShape: [Int], outputShape: [Int]
  ) -> [Float] {
    let (aStrides, bStrides) = (
      broadcastStrides(aShape, to: outputShape), broadcastStrides(bShape, to: outputShape)
    )
    let count = outputShape.reduce(1, *)
    return (0..<count).map { flat in
      var (rest, aIndex, bIndex) = (flat, 0, 0)
      for axis in outputShape.indices.reversed() {
        let index = rest % outputShape[axis]
        rest /= outputShape[axis]
        aIndex += index * aStrides[axis]
        bIndex += index * bStrides[axis]
      }
      return operation.value(a[aIndex], b[bIndex])
    }
  }
}
