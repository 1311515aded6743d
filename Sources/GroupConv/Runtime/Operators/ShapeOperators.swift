import Formats
import Kernels

/// The operators that only change how elements are indexed: Reshape, Flatten, Squeeze,
/// Unsqueeze and Identity keep the order of the elements (a copy, or nothing when the output
/// is the input's buffer); Transpose permutes it.
extension Operators {
  static let shapes: [String: OperatorDefinition] = [
    "Reshape": view { context, shape throws(InferenceError) in try reshaped(context, shape) },
    "Flatten": view { context, shape throws(InferenceError) in
      try context.expectInputs(1...1)
      let axis = try context.axis(
        try context.int("axis", default: 1), rank: shape.count, inclusive: true)
      return [shape[..<axis].reduce(1, *), shape[axis...].reduce(1, *)]
    },
    "Squeeze": view { context, shape throws(InferenceError) in
      try context.expectInputs(context.opset >= 13 ? 1...2 : 1...1)
      // No axes, or an empty list (as ONNX Runtime reads it): every size-1 axis.
      guard let given = try context.integers(attribute: "axes", orInput: 1, from: 13),
        !given.isEmpty
      else {
        return shape.filter { $0 != 1 }
      }
      let axes = try context.axes(given, rank: shape.count)
      for axis in axes where shape[axis] != 1 {
        throw context.invalidInput(
          0, "axis \(axis) has size \(shape[axis]), not 1: it cannot be squeezed")
      }
      return shape.indices.filter { !axes.contains($0) }.map { shape[$0] }
    },
    "Unsqueeze": view { context, shape throws(InferenceError) in
      try context.expectInputs(context.opset >= 13 ? 2...2 : 1...1)
      guard let given = try context.integers(attribute: "axes", orInput: 1, from: 13) else {
        throw context.invalidAttribute("axes", "(absent)", "is required")
      }
      let rank = shape.count + given.count
      let axes = try context.axes(given, rank: rank)
      var remaining = shape.makeIterator()
      return (0..<rank).map { axes.contains($0) ? 1 : remaining.next()! }
    },
    "Identity": view { context, shape throws(InferenceError) in
      try context.expectInputs(1...1)
      return shape
    },
    "Transpose": OperatorDefinition(opsets: 6...21, build: transpose),
  ]

  /// An operator whose output holds input 0's elements in order under the shape `reshape`
  /// gives; it runs in place, copying only when the buffers differ.
  static func view(
    _ reshape: @escaping @Sendable (NodeContext, [Int]) throws(InferenceError) -> [Int]
  ) -> OperatorDefinition {
    OperatorDefinition(opsets: 6...21) { context throws(InferenceError) in
      try context.expectOutputs(1...1)
      try context.expectFloats(0)
      let output = try reshape(context, try context.shape(0))
      return KernelOperator(context, outputs: [output], inPlace: true) { inputs, outputs in
        copyIfDistinct(inputs[0], outputs[0])
      }
    }
  }

  /// Reshape's output: the constant `shape` input, 0 copying the input's size at that
  /// position (unless allowzero = 1, from opset 14), one -1 inferred from the element count.
  static func reshaped(_ context: NodeContext, _ shape: [Int]) throws(InferenceError) -> [Int] {
    try context.expectInputs(2...2)
    guard try context.shape(1).count == 1 else {
      throw context.invalidInput(1, "must be a 1-D list of sizes")
    }
    let requested = try context.constantIntegers(1)
    let allowZero = context.opset >= 14 ? try context.int("allowzero", default: 0) : 0
    guard allowZero == 0 || allowZero == 1 else {
      throw context.invalidAttribute("allowzero", "\(allowZero)", "must be 0 or 1")
    }
    var output = [Int]()
    var inferred: Int?
    for (index, size) in requested.enumerated() {
      switch size {
      case -1:
        guard inferred == nil else {
          throw context.invalidInput(1, "holds \(requested): at most one size may be -1")
        }
        inferred = index
        output.append(1)
      case 0 where allowZero == 0:
        guard index < shape.count else {
          throw context.invalidInput(
            1, "holds \(requested): 0 at position \(index) copies a size the input lacks")
        }
        output.append(shape[index])
      case 0...:
        output.append(size)
      default:
        throw context.invalidInput(1, "holds \(requested): sizes must be -1 or more")
      }
    }
    let count = shape.reduce(1, *)
    let known = try context.elementCount(ofOutput: output)
    if let inferred {
      guard known > 0, count % known == 0 else {
        throw context.invalidInput(
          1, "holds \(requested): the input's \(count) elements do not fill it")
      }
      output[inferred] = count / known
    } else if known != count {
      throw context.invalidInput(
        1, "holds \(requested): \(known) elements, but the input has \(count)")
    }
    return output
  }

  /// y = x with its dimensions permuted: output dimension i is input dimension perm[i]
  /// (default: reversed).
  static func transpose(_ context: NodeContext) throws(InferenceError) -> any CompiledOperator {
    let shape = try context.singleInput()
    let perm = try context.ints("perm") ?? Array(shape.indices.reversed())
    guard perm.sorted() == Array(shape.indices) else {
      throw context.invalidAttribute(
        "perm", "\(perm)", "must be a permutation of 0..<\(shape.count)")
    }
    let strides = contiguousStrides(shape)
    let output = perm.map { shape[$0] }
    let outputStrides = perm.map { strides[$0] }
    // Two consecutive groups of dimensions swapped (NCHW ↔ NHWC: perm [0, 2, 3, 1] or
    // [0, 3, 1, 2]) is a batch of matrix transposes.
    let n = shape.count
    for lead in 0..<n {
      for split in (lead + 1)..<max(lead + 1, n) where split > lead {
        guard perm == Array(0..<lead) + Array(split..<n) + Array(lead..<split) else { continue }
        let batch = shape[..<lead].reduce(1, *)
        let rows = shape[lead..<split].reduce(1, *)
        let columns = shape[split...].reduce(1, *)
        guard rows > 1, columns > 1 else { break }
        guard context.constant(0) == nil else {
          // A constant input (an initializer that is also a graph input) is kept here.
          return KernelOperator(context, outputs: [output]) { inputs, outputs in
            guard let x = inputs[0].baseAddress, let y = outputs[0].baseAddress else { return }
            Layout.transposeMatrices(x, batch: batch, rows: rows, columns: columns, into: y)
          }
        }
        return MatrixTransposeOperator(
          batch: batch, rows: rows, columns: columns, outputShape: output,
          columnAxes: lead..<(lead + n - split))
      }
    }
    return KernelOperator(context, outputs: [output]) { inputs, outputs in
      Layout.copy(inputs[0], origin: 0, strides: outputStrides, shape: output, into: outputs[0])
    }
  }
}

/// A Transpose that swaps two groups of dimensions (NCHW ↔ NHWC): `batch` matrices of
/// `rows` × `columns` transposed, each output element then optionally scaled by a constant
/// of its column (a per-channel `Mul` after it) and added to a computed tensor of the output's
/// shape (a residual `Add` after it), all in the one pass. With a residual, the inputs are
/// [residual, x], and the output may take the residual's buffer.
final class MatrixTransposeOperator: CompiledOperator {
  let outputShapes: [[Int]]
  let batch: Int, rows: Int, columns: Int
  /// The output's dimensions that make up a matrix's columns (its rows there).
  let columnAxes: Range<Int>
  let scale: AlignedBuffer?
  let residual: Bool
  var runsInPlace: Bool { residual }

  init(
    batch: Int, rows: Int, columns: Int, outputShape: [Int], columnAxes: Range<Int>,
    scale: AlignedBuffer? = nil, residual: Bool = false
  ) {
    (self.batch, self.rows, self.columns, self.columnAxes) = (batch, rows, columns, columnAxes)
    (self.scale, self.residual) = (scale, residual)
    outputShapes = [outputShape]
  }

  /// The same transpose with its output multiplied by `constant` (broadcast against the
  /// output), or nil when the constant varies along any dimension but the columns', or would
  /// grow the output, or the output already has a residual added.
  func scaled(by constant: ONNXTensorValue) -> MatrixTransposeOperator? {
    let output = outputShapes[0]
    guard !residual, case let .float(shape, values) = constant, shape.count <= output.count
    else { return nil }
    let aligned = Array(repeating: 1, count: output.count - shape.count) + shape
    for (axis, size) in aligned.enumerated() where size != 1 {
      guard columnAxes.contains(axis), size == output[axis] else { return nil }
    }
    // The constant's element for each column: its index along the column axes it varies on.
    let factors = AlignedBuffer(count: columns)
    for column in 0..<columns {
      var rest = column
      var index = 0
      var stride = 1
      for axis in columnAxes.reversed() {
        let coordinate = rest % output[axis]
        rest /= output[axis]
        if aligned[axis] != 1 { index += coordinate * stride }
        stride *= aligned[axis]
      }
      let previous = scale.map { $0.pointer[column] } ?? 1
      factors.pointer[column] = previous * values[index]
    }
    return MatrixTransposeOperator(
      batch: batch, rows: rows, columns: columns, outputShape: output, columnAxes: columnAxes,
      scale: factors, residual: false)
  }

  /// The same transpose adding a computed tensor of its output's shape, given as input 0.
  func addingResidual() -> MatrixTransposeOperator? {
    guard !residual else { return nil }
    return MatrixTransposeOperator(
      batch: batch, rows: rows, columns: columns, outputShape: outputShapes[0],
      columnAxes: columnAxes, scale: scale, residual: true)
  }

  func run(inputs: [UnsafeBufferPointer<Float>?], outputs: [UnsafeMutableBufferPointer<Float>]) {
    let r = residual ? inputs[0]?.baseAddress : nil
    guard let x = inputs[residual ? 1 : 0]?.baseAddress, let y = outputs[0].baseAddress,
      !residual || r != nil
    else { return }
    Layout.transposeMatrices(
      x, batch: batch, rows: rows, columns: columns,
      scale: scale.map { UnsafePointer($0.pointer) }, adding: r, into: y)
  }
}
