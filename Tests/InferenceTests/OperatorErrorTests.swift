import Formats
import TestSupport
import Testing

@testable import GroupConv

/// A node that breaks one rule, and the error that names it.
struct Refusal: Sendable, CustomTestStringConvertible {
  let rule: String
  let node: ONNXNode
  let opset: Int
  let inputs: [Input]
  let error: InferenceError

  /// An input's shape, and its value when constant.
  struct Input: Sendable {
    var shape: [Int]?
    var constant: ONNXTensorValue?
  }

  var testDescription: String { rule }

  static func x(_ shape: [Int]) -> Input { Input(shape: shape, constant: nil) }
  static func ints(_ values: [Int64]) -> Input {
    Input(shape: [values.count], constant: .int64(shape: [values.count], values: values))
  }
  static func floats(_ shape: [Int], _ values: [Float]) -> Input {
    Input(shape: shape, constant: .float(shape: shape, values: values))
  }
  static let absent = Input(shape: nil, constant: nil)

  static func attribute(
    _ opType: String, _ attribute: String, _ value: String, _ rule: String
  ) -> InferenceError {
    .invalidAttribute(opType: opType, node: "n", attribute: attribute, value: value, rule: rule)
  }

  static func input(_ opType: String, _ input: String, _ shape: [Int], _ rule: String)
    -> InferenceError
  {
    .invalidInput(opType: opType, node: "n", input: input, shape: shape, rule: rule)
  }

  static let all: [Refusal] = [
    Refusal(
      rule: "an int attribute given as a float",
      node: makeNode("Softmax", ["x"], ["y"], ["axis": .float(1)]),
      opset: 13, inputs: [x([2, 3])],
      error: attribute("Softmax", "axis", "(FLOAT)", "must be an int")),
    Refusal(
      rule: "an axis outside the rank",
      node: makeNode("Concat", ["a", "b"], ["y"], ["axis": .int(2)]),
      opset: 13, inputs: [x([2, 3]), x([2, 3])],
      error: attribute("Concat", "axis", "2", "must be in -2...1 for rank 2")),
    Refusal(
      rule: "a reshape to a shape computed at run time", node: makeNode("Reshape", ["x", "s"]),
      opset: 13, inputs: [x([2, 3]), Input(shape: [2], constant: nil)],
      error: .notConstant(opType: "Reshape", node: "n", input: "s")),
    Refusal(
      rule: "batch normalization in training mode",
      node: makeNode(
        "BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], ["training_mode": .int(1)]),
      opset: 15, inputs: [x([1, 2, 3])] + Array(repeating: floats([2], [1, 1]), count: 4),
      error: attribute(
        "BatchNormalization", "training_mode", "1",
        "only inference (training_mode = 0) is supported")),
    Refusal(
      rule: "batch normalization statistics of the wrong length",
      node: makeNode("BatchNormalization", ["x", "s", "b", "m", "v"]),
      opset: 15, inputs: [x([1, 3, 3])] + Array(repeating: floats([2], [1, 1]), count: 4),
      error: input("BatchNormalization", "s", [2], "must hold 3 values, one per channel")),
    Refusal(
      rule: "the Indices output of MaxPool",
      node: makeNode("MaxPool", ["x"], ["y", "i"], ["kernel_shape": .ints([2, 2])]),
      opset: 12, inputs: [x([1, 1, 4, 4])],
      error: .outputCount(opType: "MaxPool", node: "n", count: 2, expected: 1...1)),
    Refusal(
      rule: "the mean output of LayerNormalization",
      node: makeNode("LayerNormalization", ["x", "s"], ["y", "mean"]),
      opset: 17, inputs: [x([2, 3]), floats([3], [1, 1, 1])],
      error: .outputCount(opType: "LayerNormalization", node: "n", count: 2, expected: 1...1)),
    Refusal(
      rule: "Clip bounds as attributes from opset 11",
      node: makeNode("Clip", ["x"], ["y"], ["min": .float(0)]), opset: 11, inputs: [x([3])],
      error: attribute("Clip", "min", "(attribute)", "is an input from opset 11, not an attribute")),
    Refusal(
      rule: "AveragePool dilations before opset 19",
      node: makeNode(
        "AveragePool", ["x"], ["y"], ["kernel_shape": .ints([2]), "dilations": .ints([2])]),
      opset: 18, inputs: [x([1, 1, 5])],
      error: attribute(
        "AveragePool", "dilations", "(attribute)", "is an attribute of AveragePool from opset 19")),
    Refusal(
      rule: "a pad as large as the window",
      node: makeNode(
        "MaxPool", ["x"], ["y"], ["kernel_shape": .ints([2]), "pads": .ints([2, 0])]),
      opset: 12, inputs: [x([1, 1, 5])],
      error: attribute(
        "MaxPool", "pads", "[2, 0]", "each pad must be in 0..<2, the window's extent")),
    Refusal(
      rule: "an unknown auto_pad",
      node: makeNode(
        "MaxPool", ["x"], ["y"], ["kernel_shape": .ints([2]), "auto_pad": .string("SAME")]),
      opset: 12, inputs: [x([1, 1, 5])],
      error: attribute(
        "MaxPool", "auto_pad", "SAME", "must be NOTSET, SAME_UPPER, SAME_LOWER or VALID")),
    Refusal(
      rule: "a pooling without kernel_shape", node: makeNode("AveragePool"), opset: 12,
      inputs: [x([1, 1, 5])],
      error: attribute("AveragePool", "kernel_shape", "(absent)", "is required")),
    Refusal(
      rule: "shapes that do not broadcast", node: makeNode("Add", ["a", "b"]), opset: 14,
      inputs: [x([2, 3]), x([4])],
      error: input("Add", "b", [4], "does not broadcast with shape [2, 3]")),
    Refusal(
      rule: "an integer constant in arithmetic", node: makeNode("Mul", ["a", "b"]), opset: 14,
      inputs: [x([2]), ints([2, 2])],
      error: .unsupportedDataType(opType: "Mul", node: "n", tensor: "b", dataType: "INT64")),
    Refusal(
      rule: "a gather index outside the axis", node: makeNode("Gather", ["x", "i"]), opset: 13,
      inputs: [x([3, 2]), ints([0, 3])],
      error: input("Gather", "i", [2], "holds index 3 outside -3..<3 of axis 0")),
    Refusal(
      rule: "a reshape with two inferred sizes", node: makeNode("Reshape", ["x", "s"]), opset: 13,
      inputs: [x([2, 3]), ints([-1, -1])],
      error: input("Reshape", "s", [2], "holds [-1, -1]: at most one size may be -1")),
    Refusal(
      rule: "a reshape to another element count", node: makeNode("Reshape", ["x", "s"]), opset: 13,
      inputs: [x([2, 3]), ints([4, 2])],
      error: input("Reshape", "s", [2], "holds [4, 2]: 8 elements, but the input has 6")),
    Refusal(
      rule: "split sizes that do not add up",
      node: makeNode("Split", ["x", "s"], ["a", "b"]), opset: 13, inputs: [x([5]), ints([2, 2])],
      error: input(
        "Split", "x", [5], "its size 5 along axis 0 cannot be split as [2, 2] into 2 outputs")),
    Refusal(
      rule: "squeezing an axis that is not 1", node: makeNode("Squeeze", ["x", "a"]), opset: 13,
      inputs: [x([2, 1]), ints([0])],
      error: input("Squeeze", "x", [2, 1], "axis 0 has size 2, not 1: it cannot be squeezed")),
    Refusal(
      rule: "Unsqueeze axes as an attribute from opset 13",
      node: makeNode("Unsqueeze", ["x", "a"], ["y"], ["axes": .ints([0])]), opset: 13,
      inputs: [x([2]), ints([0])],
      error: attribute(
        "Unsqueeze", "axes", "(attribute)", "is an input from opset 13, not an attribute")),
    Refusal(
      rule: "a transpose perm that is not a permutation",
      node: makeNode("Transpose", ["x"], ["y"], ["perm": .ints([0, 0])]), opset: 13,
      inputs: [x([2, 3])],
      error: attribute("Transpose", "perm", "[0, 0]", "must be a permutation of 0..<2")),
    Refusal(
      rule: "a slice step of 0", node: makeNode("Slice", ["x", "s", "e", "a", "t"]), opset: 13,
      inputs: [x([4]), ints([0]), ints([4]), ints([0]), ints([0])],
      error: input("Slice", "t", [1], "steps must not be 0")),
    Refusal(
      rule: "pads that overflow", node: makeNode("Pad", ["x", "p"]), opset: 13,
      inputs: [x([2]), ints([Int64.max, Int64.max])],
      error: input(
        "Pad", "p", [2],
        "pads [\(Int.max), \(Int.max)] give axis 0 an invalid size")),
    Refusal(
      rule: "the wrap mode before opset 19",
      node: makeNode("Pad", ["x", "p"], ["y"], ["mode": .string("wrap")]), opset: 18,
      inputs: [x([2]), ints([1, 1])],
      error: attribute("Pad", "mode", "wrap", "must be one of constant, edge, reflect")),
    Refusal(
      rule: "Gemm without C before opset 11", node: makeNode("Gemm", ["a", "b"]), opset: 9,
      inputs: [x([2, 3]), x([3, 2])],
      error: .inputCount(opType: "Gemm", node: "n", count: 2, expected: 3...3)),
    Refusal(
      rule: "a matrix product of mismatched inner sizes", node: makeNode("MatMul", ["a", "b"]),
      opset: 13, inputs: [x([2, 3]), x([4, 2])],
      error: input("MatMul", "b", [4, 2], "has 4 rows but A has 3 columns")),
    Refusal(
      rule: "repeated reduction axes",
      node: makeNode("ReduceMean", ["x"], ["y"], ["axes": .ints([1, -1])]), opset: 13,
      inputs: [x([2, 3])], error: attribute("ReduceMean", "axes", "[1, -1]", "axes must not repeat")
    ),
    Refusal(
      rule: "LRN without size", node: makeNode("LRN"), opset: 13, inputs: [x([1, 2, 3])],
      error: attribute("LRN", "size", "(absent)", "is required")),
    Refusal(
      rule: "num_outputs that differs from the outputs",
      node: makeNode("Split", ["x"], ["a", "b"], ["num_outputs": .int(3)]), opset: 18,
      inputs: [x([6])],
      error: attribute("Split", "num_outputs", "3", "must equal the node's 2 outputs")),
  ]
}

@Suite struct OperatorErrorTests {
  @Test(arguments: Refusal.all)
  func refusesTheBrokenRule(_ refusal: Refusal) {
    #expect(throws: refusal.error) {
      try build(refusal.node, opset: refusal.opset, refusal.inputs.map { ($0.shape, $0.constant) })
    }
  }

  @Test func aMaxPoolIndicesOutputIsRefusedInOneLine() {
    let error = InferenceError.outputCount(opType: "MaxPool", node: "n", count: 2, expected: 1...1)
    #expect(error.description == "MaxPool \"n\" has 2 outputs: it produces 1")
  }

  @Test func aBadAxisNamesTheRankInOneLine() {
    let error = Refusal.all[1].error
    #expect(error.description == "Concat \"n\" attribute axis = 2: must be in -2...1 for rank 2")
  }

  /// Opsets 6 to 8 too: ONNX's pytorch-converted conformance models use opset 6.
  @Test func everyFamilyIsRegisteredForOpsets6To21() {
    let hardSwishAndLayerNorm: Set = ["HardSwish", "LayerNormalization"]
    for (opType, definition) in Operators.definitions where !hardSwishAndLayerNorm.contains(opType)
    {
      #expect(definition.opsets == 6...21, "\(opType)")
    }
    #expect(Operators.definitions["HardSwish"]?.opsets == 14...21)
    #expect(Operators.definitions["LayerNormalization"]?.opsets == 17...21)
    #expect(Operators.definitions.count == 46)
  }
}
