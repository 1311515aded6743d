import Formats
import GroupConv
import TestSupport
import Testing

/// ONNX's `auto_pad` on Conv with strides, against the explicit padding it stands for:
/// an input of 8 with a 3-tap window and stride 2 has output 4 and needs 1 padding in all,
/// at the end for SAME_UPPER and at the beginning for SAME_LOWER.
@Suite struct ConvolutionNodeTests {
  @Test(arguments: [("SAME_UPPER", [0, 0, 1, 1]), ("SAME_LOWER", [1, 1, 0, 0]), ("VALID", [0, 0, 0, 0])])
  func autoPadWithStrides(_ autoPad: String, _ pads: [Int]) throws {
    let x = try Tensor.random(shape: [1, 4, 8, 8], seed: 1)
    let w = try Tensor.random(shape: [6, 2, 3, 3], seed: 2)
    var graph = GraphBuilder()
    graph.input("x", x.shape)
    graph.constant("w", w)
    graph.node(
      "Conv", ["x", "w"], ["y"],
      ["group": .int(2), "strides": .ints([2, 2]), "auto_pad": .string(autoPad)])
    graph.outputs = ["y"]
    let y = try #require(try InferenceSession(model: graph.model()).run(["x": x])["y"])
    let expected = try convolution(
      x, weight: w, options: ConvolutionOptions(stride: 2, padding: .explicit(pads), groups: 2))
    expectClose(y, expected)
  }

  /// Window attributes far beyond any tensor are refused at load, before the window
  /// arithmetic (which would overflow) runs.
  @Test(arguments: [
    ("Conv", "dilations", [1 << 62, 1], [:]),
    ("Conv", "strides", [Int.max, 1], ["auto_pad": ONNXAttributeValue.string("SAME_UPPER")]),
    ("Conv", "pads", [1 << 40, 0, 0, 0], [:]),
    ("ConvTranspose", "strides", [1 << 62, 1], ["output_shape": .ints([5, 5])]),
    ("ConvTranspose", "output_padding", [1 << 40, 0], ["strides": .ints([2, 2])]),
    ("ConvTranspose", "output_shape", [1 << 40, 5], [:]),
  ] as [(String, String, [Int], [String: ONNXAttributeValue])])
  func windowValuesBeyond32BitsAreRefused(
    _ opType: String, _ attribute: String, _ values: [Int],
    _ others: [String: ONNXAttributeValue]
  ) throws {
    var graph = GraphBuilder()
    graph.input("x", [1, 1, 5, 5])
    graph.constant("w", try Tensor.random(shape: [1, 1, 3, 3], seed: 1))
    graph.node(
      opType, ["x", "w"], ["y"], name: "n",
      others.merging([attribute: .ints(values)]) { a, _ in a })
    graph.outputs = ["y"]
    #expect(
      throws: InferenceError.invalidAttribute(
        opType: opType, node: "n", attribute: attribute, value: "\(values)",
        rule: "must hold values of at most \(Int32.max)")
    ) {
      try InferenceSession(model: graph.model())
    }
  }

  /// A huge group count is refused quickly: a transposed convolution's output channels
  /// (weight channels × groups) overflowed, and listing the valid group counts in the message
  /// counted up to the larger channel count (2^40: a hang).
  @Test(arguments: [("Conv", 1 << 40), ("ConvTranspose", 1 << 40), ("ConvTranspose", 1 << 62)])
  func aHugeGroupCountIsRefused(_ opType: String, _ groups: Int) throws {
    var graph = GraphBuilder()
    graph.input("x", [1, 2, 5, 5])
    graph.constant("w", try Tensor.random(shape: [2, 1, 3, 3], seed: 1))
    graph.node(opType, ["x", "w"], ["y"], name: "n", ["group": .int(groups)])
    graph.outputs = ["y"]
    #expect {
      try InferenceSession(model: graph.model())
    } throws: { error in
      switch error as? InferenceError {
      case .convolution(node: "n", .channelsNotDivisibleByGroups(_, _, _, groups, _, _))?: true
      case .invalidAttribute(opType, "n", "group", "\(groups)", _)?: groups == 1 << 62
      default: false
      }
    }
  }

  /// A transposed convolution's output_shape must hold positive sizes (a negative one
  /// overflowed the padding arithmetic).
  @Test func aNegativeOutputShapeIsRefused() throws {
    var graph = GraphBuilder()
    graph.input("x", [1, 1, 5, 5])
    graph.constant("w", try Tensor.random(shape: [1, 1, 3, 3], seed: 1))
    graph.node(
      "ConvTranspose", ["x", "w"], ["y"], name: "n", ["output_shape": .ints([Int.min, 5])])
    graph.outputs = ["y"]
    #expect(
      throws: InferenceError.invalidAttribute(
        opType: "ConvTranspose", node: "n", attribute: "output_shape", value: "[\(Int.min), 5]",
        rule: "must give 2 positive spatial sizes")
    ) {
      try InferenceSession(model: graph.model())
    }
  }
}
