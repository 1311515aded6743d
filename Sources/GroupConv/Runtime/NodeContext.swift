import Formats
import Tensors

/// What a builder knows about one node when the model is prepared: the node, the opset it
/// is read at, the shape of each input, and the value of each input that is constant.
package struct NodeContext: Sendable {
  package var node: ONNXNode
  /// The version of the default operator set the model imports.
  package var opset: Int
  /// One per entry of `node.inputs`; nil for an absent optional input (empty name).
  package var inputShapes: [[Int]?]
  /// One per entry of `node.inputs`; the value when it is known before the model runs
  /// (an initializer, a `Constant`, or folded from them), else nil.
  package var constants: [ONNXTensorValue?]

  package init(
    node: ONNXNode, opset: Int, inputShapes: [[Int]?], constants: [ONNXTensorValue?]
  ) {
    precondition(inputShapes.count == node.inputs.count && constants.count == node.inputs.count)
    self.node = node
    self.opset = opset
    self.inputShapes = inputShapes
    self.constants = constants
  }

  package var opType: String { node.opType }
  package var name: String { node.name }

  // MARK: Inputs

  /// Throws unless the node has between `range.lowerBound` and `range.upperBound` inputs
  /// (trailing empty names count as absent).
  package func expectInputs(_ range: ClosedRange<Int>) throws(InferenceError) {
    var count = node.inputs.count
    while count > 0, node.inputs[count - 1].isEmpty { count -= 1 }
    guard range.contains(count) else {
      throw .inputCount(opType: opType, node: name, count: count, expected: range)
    }
  }

  /// Whether input `index` is given (present and not an empty name).
  package func hasInput(_ index: Int) -> Bool {
    index < node.inputs.count && !node.inputs[index].isEmpty
  }

  /// The shape of input `index`, which must be given.
  package func shape(_ index: Int) throws(InferenceError) -> [Int] {
    guard index < inputShapes.count, let shape = inputShapes[index] else {
      throw .inputCount(
        opType: opType, node: name, count: node.inputs.count, expected: (index + 1)...Int.max)
    }
    return shape
  }

  /// The value of input `index` when it is known before the model runs.
  package func constant(_ index: Int) -> ONNXTensorValue? {
    index < constants.count ? constants[index] : nil
  }

  /// The integers of input `index`, which must be constant (shapes, axes, pads, ...).
  package func constantIntegers(_ index: Int) throws(InferenceError) -> [Int] {
    guard let value = constant(index) else {
      throw .notConstant(opType: opType, node: name, input: node.inputs[index])
    }
    guard let integers = value.integers else {
      throw invalidInput(index, "must hold integers")
    }
    return integers.map { Int(clamping: $0) }
  }

  /// The floats of input `index`, which must be constant (a float tensor).
  package func constantFloats(_ index: Int) throws(InferenceError) -> [Float] {
    guard let value = constant(index) else {
      throw .notConstant(opType: opType, node: name, input: node.inputs[index])
    }
    switch value {
    case let .float(_, values): return values
    default: throw invalidInput(index, "must hold floats")
    }
  }

  /// An `invalidInput` error for input `index` with its shape.
  package func invalidInput(_ index: Int, _ rule: String) -> InferenceError {
    let input = index < node.inputs.count ? node.inputs[index] : "#\(index)"
    let shape = index < inputShapes.count ? inputShapes[index] ?? [] : []
    return .invalidInput(opType: opType, node: name, input: input, shape: shape, rule: rule)
  }

  // MARK: Attributes

  /// An `invalidAttribute` error for `attribute` with the value as written.
  package func invalidAttribute(_ attribute: String, _ value: String, _ rule: String)
    -> InferenceError
  {
    .invalidAttribute(opType: opType, node: name, attribute: attribute, value: value, rule: rule)
  }

  package func int(_ attribute: String) throws(InferenceError) -> Int? {
    guard let value = node.attribute(attribute) else { return nil }
    guard case let .int(int) = value else { throw wrongType(attribute, value, "an int") }
    return int
  }

  package func int(_ attribute: String, default fallback: Int) throws(InferenceError) -> Int {
    try int(attribute) ?? fallback
  }

  package func ints(_ attribute: String) throws(InferenceError) -> [Int]? {
    guard let value = node.attribute(attribute) else { return nil }
    guard case let .ints(ints) = value else { throw wrongType(attribute, value, "ints") }
    return ints
  }

  package func float(_ attribute: String) throws(InferenceError) -> Float? {
    guard let value = node.attribute(attribute) else { return nil }
    guard case let .float(float) = value else { throw wrongType(attribute, value, "a float") }
    return float
  }

  package func float(_ attribute: String, default fallback: Float) throws(InferenceError)
    -> Float
  {
    try float(attribute) ?? fallback
  }

  package func floats(_ attribute: String) throws(InferenceError) -> [Float]? {
    guard let value = node.attribute(attribute) else { return nil }
    guard case let .floats(floats) = value else { throw wrongType(attribute, value, "floats") }
    return floats
  }

  package func string(_ attribute: String) throws(InferenceError) -> String? {
    guard let value = node.attribute(attribute) else { return nil }
    guard case let .string(string) = value else { throw wrongType(attribute, value, "a string") }
    return string
  }

  package func tensor(_ attribute: String) throws(InferenceError) -> ONNXTensor? {
    guard let value = node.attribute(attribute) else { return nil }
    guard case let .tensor(tensor) = value else { throw wrongType(attribute, value, "a tensor") }
    return tensor
  }

  private func wrongType(_ attribute: String, _ value: ONNXAttributeValue, _ expected: String)
    -> InferenceError
  {
    invalidAttribute(attribute, "(\(value.type.name ?? "unknown type"))", "must be \(expected)")
  }
}
