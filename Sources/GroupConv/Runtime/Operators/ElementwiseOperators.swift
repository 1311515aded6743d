import Formats
import Kernels

/// The arithmetic operators under numpy broadcasting: Add, Sub, Mul, Div, Pow of two inputs,
/// and Max, Min, Sum, Mean of one or more. Output 0 shares input 0's buffer when it has its
/// shape.
extension Operators {
  static let elementwise: [String: OperatorDefinition] = [
    "Add": binary(.add),
    "Sub": binary(.subtract),
    "Mul": binary(.multiply),
    "Div": binary(.divide),
    "Pow": binary(.power),
    "Max": variadic(.maximum),
    "Min": variadic(.minimum),
    "Sum": variadic(.add),
    "Mean": variadic(.add, mean: true),
  ]

  static func binary(_ operation: BinaryOperation) -> OperatorDefinition {
    OperatorDefinition(opsets: 6...21) { context throws(InferenceError) in
      try context.expectInputs(2...2)
      return try broadcasting(legacyBroadcast(context), operation, mean: false)
    }
  }

  static func variadic(_ operation: BinaryOperation, mean: Bool = false) -> OperatorDefinition {
    OperatorDefinition(opsets: 6...21) { context throws(InferenceError) in
      try context.expectInputs(1...Int.max)
      return try broadcasting(context, operation, mean: mean)
    }
  }

  /// Before opset 7, B broadcasts only with `broadcast = 1`, its dimensions matched to A's
  /// from `axis` on (by default, A's last ones): the context with B's shape given the
  /// trailing ones that make numpy broadcasting do the same.
  static func legacyBroadcast(_ context: NodeContext) throws(InferenceError) -> NodeContext {
    guard context.opset < 7, try context.int("broadcast", default: 0) == 1 else { return context }
    let a = try context.shape(0)
    let b = try context.shape(1)
    let axis = try context.int("axis") ?? (a.count - b.count)
    let position = axis < 0 ? axis + a.count : axis
    guard position >= 0, position + b.count <= a.count else {
      throw context.invalidAttribute(
        "axis", "\(axis)", "must place B's \(b.count) dimensions within A's \(a.count)")
    }
    let shape = b + Array(repeating: 1, count: a.count - position - b.count)
    var legacy = context
    legacy.inputShapes[1] = shape
    if case let .float(_, values)? = context.constant(1) {
      legacy.constants[1] = .float(shape: shape, values: values)
    }
    return legacy
  }

  /// y = x₀ ∘ x₁ ∘ ... broadcast to one shape: the first two inputs into y, then each
  /// further input folded into y in place; Mean scales the sum by 1 / count.
  private static func broadcasting(
    _ context: NodeContext, _ operation: BinaryOperation, mean: Bool
  ) throws(InferenceError) -> any CompiledOperator {
    try context.expectOutputs(1...1)
    let count = context.node.inputs.count
    for index in 0..<count where !context.hasInput(index) {
      throw context.invalidInput(index, "every input must be given")
    }
    for index in 0..<count { try context.expectFloats(index) }
    let shape = try context.broadcastShape(Array(0..<count))
    let shapes = try (0..<count).map { index throws(InferenceError) in try context.shape(index) }
    let first = BroadcastBinary(
      operation, a: shapes[0], b: shapes[count > 1 ? 1 : 0], outputShape: shape)
    let rest = shapes.dropFirst(2).map {
      BroadcastBinary(operation, a: shape, b: $0, outputShape: shape)
    }
    // Inputs after the second are read after y is first written: one that is input 0
    // again must not share y's buffer.
    let inPlace =
      shapes[0] == shape
      && !context.node.inputs.dropFirst(2).contains(context.node.inputs[0])
    return KernelOperator(context, outputs: [shape], inPlace: inPlace) { inputs, outputs in
      let y = outputs[0]
      if count == 1 {
        copyIfDistinct(inputs[0], y)
      } else {
        first.run(inputs[0], inputs[1], into: y)
      }
      for (index, step) in rest.enumerated() {
        step.run(UnsafeBufferPointer(y), inputs[index + 2], into: y)
      }
      if mean, count > 1 {
        let scale = 1 / Float(count)
        for i in y.indices { y[i] *= scale }
      }
    }
  }
}
