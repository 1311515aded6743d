import Formats
import Kernels

/// Gemm (alpha · op(A) · op(B) + beta · C) and MatMul (numpy's matmul: 1-D operands and
/// broadcast batch dimensions).
extension Operators {
  static let matrices: [String: OperatorDefinition] = [
    "Gemm": OperatorDefinition(opsets: 6...21, build: gemm),
    "MatMul": OperatorDefinition(opsets: 6...21, build: matMul),
  ]

  /// A: [M, K] ([K, M] with transA), B: [K, N] ([N, K] with transB), C optional from opset
  /// 11, broadcast to [M, N] → Y: [M, N].
  static func gemm(_ context: NodeContext) throws(InferenceError) -> any CompiledOperator {
    try context.expectInputs(context.opset >= 11 ? 2...3 : 3...3)
    try context.expectOutputs(1...1)
    try context.expectFloats(0, 1, 2)
    let (a, b) = (try context.shape(0), try context.shape(1))
    for (index, shape) in [(0, a), (1, b)] where shape.count != 2 {
      throw context.invalidInput(index, "must be a matrix (rank 2)")
    }
    let transA = try context.int("transA", default: 0)
    let transB = try context.int("transB", default: 0)
    for (name, value) in [("transA", transA), ("transB", transB)] where value != 0 && value != 1 {
      throw context.invalidAttribute(name, "\(value)", "must be 0 or 1")
    }
    let (m, k) = transA == 1 ? (a[1], a[0]) : (a[0], a[1])
    let (kB, n) = transB == 1 ? (b[1], b[0]) : (b[0], b[1])
    guard k == kB else {
      throw context.invalidInput(1, "has \(kB) rows (after transB) but A has \(k) columns")
    }
    let alpha = try context.float("alpha", default: 1)
    let beta = try context.float("beta", default: 1)
    let hasC = context.hasInput(2)
    let bias = hasC ? try context.shape(2) : []
    guard bias.count <= 2,
      zip(bias.reversed(), [n, m]).allSatisfy({ $0 == $1 || $0 == 1 })
    else {
      throw context.invalidInput(2, "must broadcast to [M, N] = [\(m), \(n)]")
    }
    let packing = Packing(context, k: k, n: n, transposed: transB == 1)
    if transA == 0, let packing, packing.constant != nil || m >= Packing.rowsPerRunPacking {
      // C[i, j] = c[i · rowStride + j · columnStride], strides 0 where C broadcasts.
      let (rows, columns) = (bias.count == 2 ? bias[0] : 1, bias.last ?? 1)
      let (rowStride, columnStride) = (rows == 1 ? 0 : columns, columns == 1 ? 0 : 1)
      return KernelOperator(context, outputs: [[m, n]]) { inputs, outputs in
        guard let y = outputs[0].baseAddress, let a = inputs[0].baseAddress, m > 0 else { return }
        let packed = packing.matrix(inputs[1].baseAddress!)
        let addend = hasC
          ? PackedMatrix.Addend(
            inputs[2].baseAddress!, rowStride: rowStride, columnStride: columnStride, beta: beta)
          : nil
        packed.multiply(m: m, a: a, lda: k, alpha: alpha, adding: addend, into: y)
      }
    }
    let addBias = hasC ? BroadcastBinary(.multiply, a: bias, b: [], outputShape: [m, n]) : nil
    let aStrides = transA == 1 ? (1, m) : (k, 1)
    // A constant B with transB is transposed once here; one computed at run time, per run.
    var transpose = transB == 1 ? Transposition(rows: n, columns: k) : nil
    var transposedB: [Float]?
    if transpose != nil, let b = context.constant(1)?.floatTensor?.scalars {
      transposedB = b.withUnsafeBufferPointer { b in
        var copy = [Float]()
        transpose.matrix(b) { copy = Array($0) }
        return copy
      }
      transpose = nil
    }
    let (finalTranspose, keptB) = (transpose, transposedB)
    return KernelOperator(context, outputs: [[m, n]]) { inputs, outputs in
      let y = outputs[0]
      guard m * n > 0, let yBase = y.baseAddress else { return }
      if let addBias {
        withUnsafePointer(to: beta) { beta in
          addBias.run(inputs[2], UnsafeBufferPointer(start: beta, count: 1), into: y)
        }
      }
      guard k > 0, let aBase = inputs[0].baseAddress else {
        if addBias == nil { y.update(repeating: 0) }
        return
      }
      let given = inputs[1]
      func withB(_ body: (UnsafeBufferPointer<Float>) -> Void) {
        if let keptB {
          keptB.withUnsafeBufferPointer(body)
        } else {
          finalTranspose.matrix(given, body)
        }
      }
      withB { b in
        MatrixMultiply.run(
          m: m, n: n, k: k, a: aBase, aStrides: aStrides, b: b.baseAddress!, alpha: alpha,
          into: yBase, accumulate: addBias != nil)
      }
    }
  }

  /// numpy matmul: A: [..., M, K] (a vector [K] as [1, K]), B: [..., K, N] (a vector [K] as
  /// [K, 1]), batch dimensions broadcast; the vector dimensions are dropped from Y.
  static func matMul(_ context: NodeContext) throws(InferenceError) -> any CompiledOperator {
    try context.expectInputs(2...2)
    try context.expectOutputs(1...1)
    try context.expectFloats(0, 1)
    var (a, b) = (try context.shape(0), try context.shape(1))
    for (index, shape) in [(0, a), (1, b)] where shape.isEmpty {
      throw context.invalidInput(index, "must have rank 1 or more")
    }
    let (vectorA, vectorB) = (a.count == 1, b.count == 1)
    if vectorA { a.insert(1, at: 0) }
    if vectorB { b.append(1) }
    let (m, k, kB, n) = (a[a.count - 2], a[a.count - 1], b[b.count - 2], b[b.count - 1])
    guard k == kB else {
      throw context.invalidInput(1, "has \(kB) rows but A has \(k) columns")
    }
    let (batchA, batchB) = (Array(a.dropLast(2)), Array(b.dropLast(2)))
    guard let batch = broadcast(batchA, batchB) else {
      throw context.invalidInput(1, "its batch dimensions do not broadcast with \(batchA)")
    }
    let output = batch + (vectorA ? [] : [m]) + (vectorB ? [] : [n])
    _ = try context.elementCount(ofOutput: output)
    let pairs = StridedPair(
      shape: batch, broadcastStrides(batchA, to: batch).map { $0 * m * k },
      broadcastStrides(batchB, to: batch).map { $0 * k * n })
    let batches = batch.reduce(1, *)
    let packing = Packing(context, k: k, n: n, transposed: false)
    if let packed = packing?.constant {
      // B has no batch (a constant of k · n elements): Y's rows are A's rows, batch after
      // batch, one product of batches · m rows.
      return KernelOperator(context, outputs: [output]) { inputs, outputs in
        guard let y = outputs[0].baseAddress, let a = inputs[0].baseAddress else { return }
        packed.multiply(m: batches * m, a: a, lda: k, alpha: 1, into: y)
      }
    }
    if let packing, m >= Packing.rowsPerRunPacking {
      return KernelOperator(context, outputs: [output]) { inputs, outputs in
        guard let y = outputs[0].baseAddress, let a = inputs[0].baseAddress,
          let b = inputs[1].baseAddress
        else { return }
        for index in 0..<batches {
          let (aOffset, bOffset) = pairs.offsets(ofElement: index)
          packing.matrix(b + bOffset).multiply(
            m: m, a: a + aOffset, lda: k, alpha: 1, into: y + index * m * n)
        }
      }
    }
    return KernelOperator(context, outputs: [output]) { inputs, outputs in
      let y = outputs[0]
      guard m * n > 0, let yBase = y.baseAddress else { return }
      guard k > 0, let aBase = inputs[0].baseAddress, let bBase = inputs[1].baseAddress else {
        y.update(repeating: 0)
        return
      }
      for index in 0..<batches {
        let (aOffset, bOffset) = pairs.offsets(ofElement: index)
        MatrixMultiply.run(
          m: m, n: n, k: k, a: aBase + aOffset, aStrides: (k, 1), b: bBase + bOffset, alpha: 1,
          into: yBase + index * m * n, accumulate: false)
      }
    }
  }
}

/// How input 1 (B: [k, n], given as [n, k] when transposed) reaches `PackedMatrix`: packed
/// once when it is a constant, else per run.
extension Operators {
  /// MatMul of a computed A [..., m, k] and a constant 2-D B [k, n], with `row` (n values)
  /// added to every row of the product in the kernel's epilogue: the MatMul and bias Add
  /// of a linear layer as one step. Nil when B is not a constant 2-D matrix.
  static func matMulAddingRow(_ context: NodeContext, row: [Float]) throws(InferenceError)
    -> LinearOperator?
  {
    let (a, b) = (try context.shape(0), try context.shape(1))
    guard a.count >= 2, b.count == 2, a.last == b[0], row.count == b[1],
      let packing = Packing(context, k: b[0], n: b[1], transposed: false),
      let packed = packing.constant
    else { return nil }
    return LinearOperator(
      packed: packed, bias: AlignedBuffer(row), m: a.dropLast().reduce(1, *),
      outputShape: Array(a.dropLast()) + [b[1]], activation: nil)
  }
}

/// A linear layer: y = A · B + row, B a packed constant [k, n], the row added to every row
/// of the product, then an activation applied as the product's pieces are finished.
final class LinearOperator: CompiledOperator {
  let outputShapes: [[Int]]
  let activation: Activation?
  private let packed: PackedMatrix
  private let bias: AlignedBuffer
  private let m: Int

  init(
    packed: PackedMatrix, bias: AlignedBuffer, m: Int, outputShape: [Int],
    activation: Activation?
  ) {
    (self.packed, self.bias, self.m, self.activation) = (packed, bias, m, activation)
    outputShapes = [outputShape]
  }

  /// The same layer followed by `activation` (one of the vectorized ones), or nil.
  func followed(by activation: Activation) -> LinearOperator? {
    guard self.activation == nil, activation.vectorizedKind != nil else { return nil }
    return LinearOperator(
      packed: packed, bias: bias, m: m, outputShape: outputShapes[0], activation: activation)
  }

  func run(inputs: [UnsafeBufferPointer<Float>?], outputs: [UnsafeMutableBufferPointer<Float>]) {
    guard let y = outputs[0].baseAddress, let a = inputs[0]?.baseAddress else { return }
    let addend = PackedMatrix.Addend(
      UnsafePointer(bias.pointer), rowStride: 0, columnStride: 1, beta: 1)
    packed.multiply(
      m: m, a: a, lda: packed.k, alpha: 1, adding: addend, into: y,
      then: activation?.vectorizedKind)
  }
}

struct Packing: Sendable {
  let k: Int, n: Int
  let strides: (Int, Int)
  let constant: PackedMatrix?
  /// Rows of A from which packing B per run pays: packing reads B once and writes it once,
  /// about what the plain loop's slower reads of B cost.
  static let rowsPerRunPacking = 8

  /// Nil for an empty product.
  init?(_ context: NodeContext, k: Int, n: Int, transposed: Bool) {
    guard k > 0, n > 0 else { return nil }
    (self.k, self.n, strides) = (k, n, transposed ? (1, k) : (n, 1))
    let b = context.constant(1)?.floatTensor?.scalars
    constant =
      b?.count == k * n
      ? b!.withUnsafeBufferPointer { [strides] in
        PackedMatrix(k: k, n: n, b: $0.baseAddress!, strides: strides)
      } : nil
  }

  /// The constant, or B packed from `b`.
  func matrix(_ b: UnsafePointer<Float>) -> PackedMatrix {
    constant ?? PackedMatrix(k: k, n: n, b: b, strides: strides)
  }
}

extension StridedPair {
  /// The offsets in A and B of batch element `index` (row-major over the shape).
  fileprivate func offsets(ofElement index: Int) -> (Int, Int) {
    let (a, b) = offsets(ofRow: index / rowLength)
    let within = index % rowLength
    return (a + within * steps.0, b + within * steps.1)
  }
}

/// B given as [rows, columns], read as its transpose [columns, rows]: copied per run into
/// a scratch matrix.
struct Transposition: Sendable {
  let rows: Int, columns: Int
}

extension Optional where Wrapped == Transposition {
  /// Calls `body` with the matrix itself, or its transpose.
  func matrix(
    _ b: UnsafeBufferPointer<Float>, _ body: (UnsafeBufferPointer<Float>) -> Void
  ) {
    guard let transposition = self else { return body(b) }
    var scratch = [Float](repeating: 0, count: b.count)
    scratch.withUnsafeMutableBufferPointer { t in
      Layout.copy(
        b, origin: 0, strides: [1, transposition.columns],
        shape: [transposition.columns, transposition.rows], into: t)
    }
    scratch.withUnsafeBufferPointer(body)
  }
}
