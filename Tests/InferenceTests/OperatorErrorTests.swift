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
      rule: "a reshape to a shape given as a matrix", node: makeNode("Reshape", ["x", "s"]),
      opset: 13,
      inputs: [
        x([2, 3]), Input(shape: [1, 2], constant: .int64(shape: [1, 2], values: [3, 2])),
      ],
      error: input("Reshape", "s", [1, 2], "must be a 1-D list of sizes")),
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
    // Window attributes far beyond any tensor are refused before the window arithmetic
    // (which would overflow) runs.
    Refusal(
      rule: "a pooling kernel beyond 32 bits",
      node: makeNode("MaxPool", ["x"], ["y"], ["kernel_shape": .ints([1 << 40])]), opset: 12,
      inputs: [x([1, 1, 5])],
      error: attribute(
        "MaxPool", "kernel_shape", "[\(1 << 40)]", "must hold values of at most \(Int32.max)")),
    Refusal(
      rule: "a pooling dilation beyond 32 bits",
      node: makeNode(
        "MaxPool", ["x"], ["y"], ["kernel_shape": .ints([3, 3]), "dilations": .ints([1 << 62, 1])]),
      opset: 12, inputs: [x([1, 1, 5, 5])],
      error: attribute(
        "MaxPool", "dilations", "[\(1 << 62), 1]", "must hold values of at most \(Int32.max)")),
    Refusal(
      rule: "a ceil-mode pooling stride beyond 32 bits",
      node: makeNode(
        "AveragePool", ["x"], ["y"],
        ["kernel_shape": .ints([2]), "strides": .ints([Int.max]), "ceil_mode": .int(1)]),
      opset: 12, inputs: [x([1, 1, 5])],
      error: attribute(
        "AveragePool", "strides", "[\(Int.max)]", "must hold values of at most \(Int32.max)")),
    // An output too large to hold is refused before the plan makes a table per position.
    Refusal(
      rule: "a pooling output beyond the element limit",
      node: makeNode(
        "MaxPool", ["x"], ["y"],
        ["kernel_shape": .ints([1 << 30]), "pads": .ints([(1 << 30) - 1, (1 << 30) - 1])]),
      opset: 12, inputs: [x([1, 1, 1])],
      error: .tooLarge(
        opType: "MaxPool", node: "n", tensor: "y", shape: [1, 1, 1 << 30], maximum: 1 << 28)),
    Refusal(
      rule: "a pad beyond the element limit", node: makeNode("Pad", ["x", "p"]), opset: 13,
      inputs: [x([1, 1]), ints([0, 0, 0, 1_000_000_000])],
      error: .tooLarge(
        opType: "Pad", node: "n", tensor: "y", shape: [1, 1_000_000_001], maximum: 1 << 28)),
    Refusal(
      rule: "split sizes whose sum overflows",
      node: makeNode("Split", ["x", "s"], ["a", "b"]), opset: 13,
      inputs: [x([5]), ints([1 << 62, 1 << 62])],
      error: input(
        "Split", "x", [5],
        "its size 5 along axis 0 cannot be split as [\(1 << 62), \(1 << 62)] into 2 outputs")),
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

  /// Slice steps of any size, up to ±2^63, take the start alone (no overflow on the way).
  @Test func aSliceStepLargerThanTheAxisTakesTheStart() throws {
    let x = try Tensor(shape: [5], scalars: [0, 1, 2, 3, 4])
    for (start, end, step, expected) in [
      (1, 5, Int64.max, [Float(1)]), (4, Int64.min, Int64.min, [4]), (-1, -6, -(1 << 61), [4]),
    ] as [(Int64, Int64, Int64, [Float])] {
      let constants: [(shape: [Int]?, constant: ONNXTensorValue?)] =
        [[start], [end], [0], [step]].map { ([1], .int64(shape: [1], values: $0)) }
      let slice = try build(
        makeNode("Slice", ["x", "s", "e", "a", "t"]), opset: 13, [([5], nil)] + constants)
      #expect(run(slice, [x, nil, nil, nil, nil])[0].scalars == expected, "step \(step)")
    }
  }

  /// Squeeze with an empty axes list squeezes every axis of size 1, as with none (ONNX
  /// Runtime's reading).
  @Test func anEmptySqueezeListSqueezesEveryUnitAxis() throws {
    let squeeze = try build(
      makeNode("Squeeze", ["x", "a"]), opset: 13,
      [([1, 3, 1, 5], nil), ([0], .int64(shape: [0], values: []))])
    #expect(squeeze.outputShapes == [[3, 5]])
  }

  /// A pooling window far larger than the input (within the window limit) is planned per
  /// output position in constant time, not by visiting each tap of each window.
  @Test func aHugePoolingWindowIsPlannedQuickly() throws {
    let x = try Tensor(shape: [1, 1, 5], scalars: [3, 1, 5, 1, 4])
    let pool = try build(
      makeNode(
        "MaxPool", ["x"], ["y"],
        ["kernel_shape": .ints([1_000_001]), "pads": .ints([1_000_000, 1_000_000])]),
      opset: 12, [([1, 1, 5], nil)])
    let y = run(pool, [x])[0]
    #expect(y.shape == [1, 1, 1_000_005])
    #expect(Array(y.scalars[..<5]) == [3, 3, 5, 5, 5])
    #expect(Array(y.scalars[999_998...]) == [5, 5, 5, 5, 5, 4, 4])
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
