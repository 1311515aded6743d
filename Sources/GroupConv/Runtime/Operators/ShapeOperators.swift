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
        return KernelOperator(context, outputs: [output]) { inputs, outputs in
          guard let x = inputs[0].baseAddress, let y = outputs[0].baseAddress else { return }
          Layout.transposeMatrices(x, batch: batch, rows: rows, columns: columns, into: y)
        }
      }
    }
    return KernelOperator(context, outputs: [output]) { inputs, outputs in
      Layout.copy(inputs[0], origin: 0, strides: outputStrides, shape: output, into: outputs[0])
    }
  }
}
