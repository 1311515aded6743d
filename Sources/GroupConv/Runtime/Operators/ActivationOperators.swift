import Formats
import Kernels

/// The elementwise functions of one input: Relu, Clip, Sigmoid, HardSigmoid, HardSwish,
/// LeakyRelu, Tanh, Erf, Exp, Sqrt, Neg and Reciprocal. Each runs in place.
extension Operators {
  static let activations: [String: OperatorDefinition] = [
    "Relu": activation { _ throws(InferenceError) in .relu },
    "Sigmoid": activation { _ throws(InferenceError) in .sigmoid },
    "Tanh": activation { _ throws(InferenceError) in .tanh },
    "Erf": activation { _ throws(InferenceError) in .erf },
    "Exp": activation { _ throws(InferenceError) in .exp },
    "Sqrt": activation { _ throws(InferenceError) in .sqrt },
    "Neg": activation { _ throws(InferenceError) in .negate },
    "Reciprocal": activation { _ throws(InferenceError) in .reciprocal },
    "HardSwish": activation(opsets: 14...21) { _ throws(InferenceError) in .hardSwish },
    "HardSigmoid": activation(hardSigmoid),
    "LeakyRelu": activation { context throws(InferenceError) in
      .leakyRelu(alpha: try context.float("alpha", default: 0.01))
    },
    "Clip": activation(inputs: 1...3, clip),
  ]

  /// An operator of one float input and one output of its shape that applies `function`.
  static func activation(
    opsets: ClosedRange<Int> = 6...21, inputs: ClosedRange<Int> = 1...1,
    _ function: @escaping @Sendable (NodeContext) throws(InferenceError) -> Activation
  ) -> OperatorDefinition {
    OperatorDefinition(opsets: opsets) { context throws(InferenceError) in
      try context.expectInputs(inputs)
      try context.expectOutputs(1...1)
      try context.expectFloats(0)
      let activation = try function(context)
      let shape = try context.shape(0)
      return KernelOperator(context, outputs: [shape], inPlace: true) { inputs, outputs in
        copyIfDistinct(inputs[0], outputs[0])
        activation.apply(outputs[0])
      }
    }
  }

  /// HardSigmoid's function: alpha (0.2) and beta (0.5) from the attributes.
  static func hardSigmoid(_ context: NodeContext) throws(InferenceError) -> Activation {
    .hardSigmoid(
      alpha: try context.float("alpha", default: 0.2), beta: try context.float("beta", default: 0.5))
  }

  /// Clip's function, with the bounds of `clipBounds`.
  static func clip(_ context: NodeContext) throws(InferenceError) -> Activation {
    let (low, high) = try clipBounds(context)
    return .clip(min: low, max: high)
  }

  /// Clip's bounds: attributes `min` and `max` before opset 11, optional constant scalar
  /// inputs from 11; unbounded when absent.
  static func clipBounds(_ context: NodeContext) throws(InferenceError) -> (Float, Float) {
    if context.opset < 11 {
      try context.expectInputs(1...1)
      return (
        try context.float("min", default: -.greatestFiniteMagnitude),
        try context.float("max", default: .greatestFiniteMagnitude)
      )
    }
    for attribute in ["min", "max"] where context.node.attribute(attribute) != nil {
      throw context.invalidAttribute(
        attribute, "(attribute)", "is an input from opset 11, not an attribute")
    }
    func bound(_ index: Int, _ fallback: Float) throws(InferenceError) -> Float {
      guard context.hasInput(index) else { return fallback }
      let values = try context.constantFloats(index)
      guard values.count == 1 else { throw context.invalidInput(index, "must be a scalar") }
      return values[0]
    }
    return (
      try bound(1, -.greatestFiniteMagnitude), try bound(2, .greatestFiniteMagnitude)
    )
  }
}
