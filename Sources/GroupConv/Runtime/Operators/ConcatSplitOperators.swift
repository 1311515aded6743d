import Formats
import Kernels

/// Concat joins its inputs along an axis; Split cuts its input along one.
extension Operators {
  static let joins: [String: OperatorDefinition] = [
    "Concat": OperatorDefinition(opsets: 6...21, build: concat),
    "Split": OperatorDefinition(opsets: 6...21, build: split),
  ]

  /// Inputs of one rank, equal except along `axis` (required) → their sizes there summed.
  static func concat(_ context: NodeContext) throws(InferenceError) -> any CompiledOperator {
    try context.expectInputs(1...Int.max)
    try context.expectOutputs(1...1)
    let count = context.node.inputs.count
    for index in 0..<count {
      try context.expectFloats(index)
      guard context.hasInput(index) else {
        throw context.invalidInput(index, "every input must be given")
      }
    }
    let shapes = try (0..<count).map { index throws(InferenceError) in try context.shape(index) }
    guard let given = try context.int("axis") else {
      throw context.invalidAttribute("axis", "(absent)", "is required")
    }
    let axis = try context.axis(given, rank: shapes[0].count)
    for (index, shape) in shapes.enumerated() {
      let matches =
        shape.count == shapes[0].count
        && shape.indices.allSatisfy { $0 == axis || shape[$0] == shapes[0][$0] }
      guard matches else {
        throw context.invalidInput(
          index, "must match input 0's shape \(shapes[0]) except along axis \(axis)")
      }
    }
    var output = shapes[0]
    output[axis] = shapes.map { $0[axis] }.reduce(0, +)
    _ = try context.elementCount(ofOutput: output)
    let (outer, inner) = (output[..<axis].reduce(1, *), output[(axis + 1)...].reduce(1, *))
    let lengths = shapes.map { $0[axis] * inner }
    let pitch = output[axis] * inner
    let joins = outer == 1 && context.constants.allSatisfy { $0 == nil } ? lengths : nil
    return KernelOperator(context, outputs: [output], joins: joins) { inputs, outputs in
      guard let y = outputs[0].baseAddress else { return }
      var offset = 0
      for (input, length) in zip(inputs, lengths) {
        if let x = input.baseAddress {
          Layout.copyBlocks(
            count: outer, length: length, from: x, stride: length, to: y + offset,
            stride: pitch)
        }
        offset += length
      }
    }
  }

  /// x cut along `axis` (default 0) into the node's outputs: sizes from the `split`
  /// attribute (before opset 13) or input (from 13), else num_outputs (from 18) chunks of
  /// ⌈size / count⌉ with a smaller last one, else equal parts.
  static func split(_ context: NodeContext) throws(InferenceError) -> any CompiledOperator {
    try context.expectInputs(context.opset >= 13 ? 1...2 : 1...1)
    try context.expectFloats(0)
    let shape = try context.shape(0)
    let axis = try context.axis(try context.int("axis", default: 0), rank: shape.count)
    let count = context.node.outputs.count
    let size = shape[axis]
    let sizes: [Int]
    if let given = try context.integers(attribute: "split", orInput: 1, from: 13) {
      sizes = given
    } else if context.opset >= 18, let parts = try context.int("num_outputs") {
      guard parts == count, parts >= 1 else {
        throw context.invalidAttribute(
          "num_outputs", "\(parts)", "must equal the node's \(count) outputs")
      }
      let chunk = (size + parts - 1) / parts
      sizes = Array(repeating: chunk, count: parts - 1) + [size - chunk * (parts - 1)]
    } else {
      guard count >= 1, size % count == 0 else {
        throw context.invalidInput(
          0, "its size \(size) along axis \(axis) does not split into \(count) equal parts")
      }
      sizes = Array(repeating: size / count, count: count)
    }
    guard sizes.count == count, sizes.allSatisfy({ (0...size).contains($0) }),
      sizes.reduce(0, +) == size
    else {
      throw context.invalidInput(
        0, "its size \(size) along axis \(axis) cannot be split as \(sizes) into \(count) outputs")
    }
    let (outer, inner) = (shape[..<axis].reduce(1, *), shape[(axis + 1)...].reduce(1, *))
    let outputs = sizes.map { part in
      var output = shape
      output[axis] = part
      return output
    }
    return KernelOperator(context, outputs: outputs) { inputs, outputs in
      guard let x = inputs[0].baseAddress else { return }
      var offset = 0
      for (output, part) in zip(outputs, sizes) {
        if let y = output.baseAddress {
          Layout.copyBlocks(
            count: outer, length: part * inner, from: x + offset, stride: size * inner, to: y,
            stride: part * inner)
        }
        offset += part * inner
      }
    }
  }
}
