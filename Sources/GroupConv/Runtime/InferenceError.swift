import Formats
import Tensors

/// What can be wrong when an ONNX model is prepared or run: one case per broken rule.
///
/// Each message is one line naming the operation, the node (`Conv "conv1"`), the values
/// found and the rule they break. Everything an operator can reject is checked when the
/// model is prepared for its input shapes, never while it runs.
public enum InferenceError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The model file could not be read or decoded.
  case model(ONNXError)
  /// The model's graph uses an operator this engine does not run at the model's opset.
  case unsupportedOperator(opType: String, domain: String, node: String, opset: Int)
  /// The model imports no operator set for a domain a node uses, or a version outside 1...
  case unsupportedOpset(domain: String, version: Int, supported: ClosedRange<Int>)
  /// A node reads a tensor that no initializer, graph input or earlier node produces.
  case missingTensor(name: String, node: String)
  /// Two nodes, or a node and an initializer or input, produce the same tensor name.
  case duplicateTensor(name: String, node: String)
  /// A name appears twice in one of the graph's lists (`list`: "initializers", "inputs" or
  /// "outputs").
  case repeatedName(name: String, list: String)
  /// A node has fewer or more inputs than its operator takes.
  case inputCount(opType: String, node: String, count: Int, expected: ClosedRange<Int>)
  /// An attribute is missing, of the wrong type, or has a value the operator refuses.
  case invalidAttribute(opType: String, node: String, attribute: String, value: String, rule: String)
  /// An input's shape or value does not fit the operator (`rule` says how).
  case invalidInput(opType: String, node: String, input: String, shape: [Int], rule: String)
  /// An input must be known when the model is prepared (a shape, axes, pads), but is
  /// computed from the graph's inputs.
  case notConstant(opType: String, node: String, input: String)
  /// A tensor of an element type the engine does not compute with at run time.
  case unsupportedDataType(opType: String, node: String, tensor: String, dataType: String)
  /// A convolution's arguments break one of the convolution rules.
  case convolution(node: String, ConvolutionError)
  /// A tensor computed at run time would hold more than `maximum` elements.
  case tooLarge(opType: String, node: String, tensor: String, shape: [Int], maximum: Int)
  /// `run` was given an input the graph does not have.
  case unknownInput(name: String, graphInputs: [String])
  /// `run` was not given a graph input.
  case missingInput(name: String)
  /// `run` was given an input whose shape does not match the graph's declaration.
  case inputShape(name: String, declared: [ONNXDimension], actual: [Int])
  /// An output was asked for that the graph does not produce.
  case unknownOutput(name: String, graphOutputs: [String])
  /// A node has more outputs than the operator produces here (an optional output that is
  /// computed only in a mode the engine does not run).
  case outputCount(opType: String, node: String, count: Int, expected: ClosedRange<Int>)
  /// The plan's buffers (`buffers` bytes, shared between values whose lives do not overlap)
  /// and the copies of its outputs (`outputs` bytes) need more memory than the process can
  /// allocate (`available` bytes: `MemoryBudget`).
  case memory(buffers: Int, outputs: Int, available: Int)

  public var description: String {
    switch self {
    case let .model(error):
      error.description
    case let .unsupportedOperator(opType, domain, node, opset):
      "\(Self.qualified(opType, domain)) \(Self.quoted(node)) at opset \(opset): "
        + "this operator is not supported"
    case let .unsupportedOpset(domain, version, supported):
      "operator set \(domain.isEmpty ? "ai.onnx" : domain) version \(version): "
        + "supported versions are \(supported.lowerBound) to \(supported.upperBound)"
    case let .missingTensor(name, node):
      "node \(Self.quoted(node)) reads tensor \(Self.quoted(name)), which no initializer, "
        + "graph input or earlier node produces"
    case let .duplicateTensor(name, node):
      "node \(Self.quoted(node)) produces tensor \(Self.quoted(name)), which is already "
        + "produced elsewhere: every tensor must have one producer"
    case let .repeatedName(name, list):
      "tensor \(Self.quoted(name)) appears twice among the graph's \(list): each name may "
        + "appear once"
    case let .inputCount(opType, node, count, expected):
      "\(opType) \(Self.quoted(node)) has \(count) inputs: it takes "
        + Self.count(expected)
    case let .invalidAttribute(opType, node, attribute, value, rule):
      "\(opType) \(Self.quoted(node)) attribute \(attribute) = \(value): \(rule)"
    case let .invalidInput(opType, node, input, shape, rule):
      "\(opType) \(Self.quoted(node)) input \(Self.quoted(input)) of shape \(shape): \(rule)"
    case let .notConstant(opType, node, input):
      "\(opType) \(Self.quoted(node)) input \(Self.quoted(input)) is computed at run time: "
        + "it must be an initializer or a constant"
    case let .unsupportedDataType(opType, node, tensor, dataType):
      "\(opType) \(Self.quoted(node)) tensor \(Self.quoted(tensor)) has element type "
        + "\(dataType): only float tensors are computed at run time"
    case let .convolution(node, error):
      "node \(Self.quoted(node)): \(error)"
    case let .tooLarge(opType, node, tensor, shape, maximum):
      "\(opType) \(Self.quoted(node)) tensor \(Self.quoted(tensor)) of shape \(shape): a tensor "
        + "computed at run time may hold at most \(maximum) elements"
    case let .unknownInput(name, graphInputs):
      "input \(Self.quoted(name)) is not an input of the model; its inputs are "
        + graphInputs.map(Self.quoted).joined(separator: ", ")
    case let .missingInput(name):
      "input \(Self.quoted(name)) of the model was not given"
    case let .inputShape(name, declared, actual):
      "input \(Self.quoted(name)) has shape \(actual), but the model declares "
        + "[\(declared.map(\.description).joined(separator: ", "))]"
    case let .unknownOutput(name, graphOutputs):
      "output \(Self.quoted(name)) is not an output of the model; its outputs are "
        + graphOutputs.map(Self.quoted).joined(separator: ", ")
    case let .outputCount(opType, node, count, expected):
      "\(opType) \(Self.quoted(node)) has \(count) outputs: it produces "
        + Self.count(expected)
    case let .memory(buffers, outputs, available):
      "running the model for these input shapes needs "
        + "\(MemoryBudget.describe(buffers.addingReportingOverflow(outputs).partialValue)): "
        + "\(MemoryBudget.describe(buffers)) of buffers for its values and "
        + "\(MemoryBudget.describe(outputs)) for its outputs, "
        + MemoryBudget.refusal(available: available)
    }
  }

  static func quoted(_ name: String) -> String { "\"\(name)\"" }

  /// `2`, `1 to 3`, or `at least 1` for a range without an upper bound.
  static func count(_ range: ClosedRange<Int>) -> String {
    if range.lowerBound == range.upperBound { return "\(range.lowerBound)" }
    if range.upperBound == .max { return "at least \(range.lowerBound)" }
    return "\(range.lowerBound) to \(range.upperBound)"
  }

  static func qualified(_ opType: String, _ domain: String) -> String {
    domain.isEmpty || domain == "ai.onnx" ? opType : "\(domain).\(opType)"
  }
}
