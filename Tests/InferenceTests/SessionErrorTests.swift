import Foundation
import GroupConv
import TestSupport
import Testing

/// Every way a model or a call can be wrong is a typed error, raised when the model loads
/// where it can be.
@Suite struct SessionErrorTests {
  private func convGraph() throws -> GraphBuilder {
    var graph = GraphBuilder()
    graph.input("x", [1, 2, 4, 4])
    graph.constant("w", try Tensor.random(shape: [2, 1, 3, 3], seed: 1))
    graph.node("Conv", ["x", "w"], ["y"], name: "conv", ["group": .int(2)])
    graph.outputs = ["y"]
    return graph
  }

  @Test func anUnsupportedOperatorIsNamedAtLoad() throws {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Fixtures/unsupported_operator.onnx").path
    #expect(throws: InferenceError.unsupportedOperator(
      opType: "Einsum", domain: "", node: "sum_all", opset: 13)) {
      try InferenceSession(contentsOf: path)
    }
    #expect(
      InferenceError.unsupportedOperator(opType: "Einsum", domain: "", node: "sum_all", opset: 13)
        .description == "Einsum \"sum_all\" at opset 13: this operator is not supported")
  }

  @Test func anOperatorOfAnotherDomainIsUnsupported() throws {
    var graph = try convGraph()
    graph.nodes.append(
      ONNXNode(name: "fused", opType: "FusedConv", domain: "com.microsoft", inputs: ["y"], outputs: ["z"]))
    #expect(throws: InferenceError.unsupportedOperator(
      opType: "FusedConv", domain: "com.microsoft", node: "fused", opset: 13)) {
      try InferenceSession(model: graph.model())
    }
  }

  @Test func aTensorReadBeforeItIsProducedIsMissing() throws {
    var graph = try convGraph()
    graph.nodes.insert(ONNXNode(name: "early", opType: "Identity", inputs: ["y"], outputs: ["z"]), at: 0)
    #expect(throws: InferenceError.missingTensor(name: "y", node: "early")) {
      try InferenceSession(model: graph.model())
    }
  }

  @Test func aTensorProducedTwiceIsRefused() throws {
    var graph = try convGraph()
    graph.node("Identity", ["x"], ["y"], name: "again")
    #expect(throws: InferenceError.duplicateTensor(name: "y", node: "again")) {
      try InferenceSession(model: graph.model())
    }
  }

  /// A name listed twice among the graph's initializers, inputs or outputs is refused at
  /// load, not resolved by taking one of them.
  @Test func aNameRepeatedInAGraphListIsRefused() throws {
    var outputs = try convGraph()
    outputs.outputs = ["y", "y"]
    var inputs = try convGraph()
    inputs.input("x", [1, 2, 4, 4])
    var initializers = try convGraph()
    initializers.constant("w", try Tensor.random(shape: [2, 1, 3, 3], seed: 2))
    for (graph, list, name) in [
      (outputs, "outputs", "y"), (inputs, "inputs", "x"), (initializers, "initializers", "w"),
    ] {
      #expect(throws: InferenceError.repeatedName(name: name, list: list)) {
        try InferenceSession(model: graph.model())
      }
    }
    #expect(
      InferenceError.repeatedName(name: "y", list: "outputs").description
        == "tensor \"y\" appears twice among the graph's outputs: each name may appear once")
  }

  /// Constants folded at load that an integer cannot hold are refused, not trapped on: a
  /// NaN cast to int32, a float NaN concatenated with integers, -2^63 moved by a layout
  /// operator; and the one integer quotient that overflows wraps, as the folded sums and
  /// products do.
  @Test func foldedIntegersOutOfRangeAreRefused() throws {
    func session(_ build: (inout GraphBuilder) -> Void) throws -> InferenceSession {
      var graph = GraphBuilder()
      graph.input("x", [2, 3])
      build(&graph)
      graph.node("Reshape", ["x", "s"], ["y"], name: "reshape")
      graph.outputs = ["y"]
      return try InferenceSession(model: graph.model())
    }
    #expect(
      throws: InferenceError.invalidInput(
        opType: "Cast", node: "cast", input: "nan", shape: [1], rule: "holds nan, which Int32 cannot hold")
    ) {
      try session { graph in
        graph.constant("nan", try! Tensor(shape: [1], scalars: [.nan]))
        graph.node("Cast", ["nan"], ["s"], name: "cast", ["to": .int(6)])
      }
    }
    #expect(
      throws: InferenceError.invalidInput(
        opType: "Concat", node: "concat", input: "a", shape: [1],
        rule: "its integer result holds nan: the inputs mix integers and floats")
    ) {
      try session { graph in
        graph.integers("a", [2])
        graph.constant("b", try! Tensor(shape: [1], scalars: [.nan]))
        graph.node("Concat", ["a", "b"], ["s"], name: "concat", ["axis": .int(0)])
      }
    }
    #expect(
      throws: InferenceError.invalidInput(
        opType: "Concat", node: "concat", input: "a", shape: [1],
        rule: "integers beyond ±2^24 are not folded")
    ) {
      try session { graph in
        graph.integers("a", [Int(Int64.min)])
        graph.integers("b", [1])
        graph.node("Concat", ["a", "b"], ["s"], name: "concat", ["axis": .int(0)])
      }
    }
    #expect(
      throws: InferenceError.invalidInput(
        opType: "Reshape", node: "reshape", input: "s", shape: [1],
        rule: "holds [\(Int64.min)]: sizes must be -1 or more")
    ) {
      try session { graph in
        graph.integers("a", [Int(Int64.min)])
        graph.integers("b", [-1])
        graph.node("Div", ["a", "b"], ["s"], name: "div")
      }
    }
  }

  /// A node with no output (or an empty first output name) is refused, not followed.
  @Test(arguments: [[], [""]] as [[String]])
  func aNodeWithoutAnOutputIsRefused(_ outputs: [String]) throws {
    for opType in ["Relu", "Identity", "Constant"] {
      var graph = try convGraph()
      graph.nodes.append(
        ONNXNode(name: "dangling", opType: opType, inputs: opType == "Constant" ? [] : ["y"], outputs: outputs))
      #expect(throws: InferenceError.outputCount(
        opType: opType, node: "dangling", count: 0, expected: 1...Int.max)) {
        try InferenceSession(model: graph.model())
      }
    }
    #expect(
      InferenceError.outputCount(opType: "Relu", node: "dangling", count: 0, expected: 1...Int.max)
        .description == "Relu \"dangling\" has 0 outputs: it produces at least 1")
  }

  /// A declared shape or an operator's output too large to allocate is refused at load.
  @Test func aTensorTooLargeToAllocateIsRefused() throws {
    var graph = try convGraph()
    graph.inputs = [
      ONNXValueInfo(
        name: "x",
        type: .tensor(elementType: .float, shape: [.value(1), .value(2), .value(20_000), .value(20_000)]))
    ]
    #expect(throws: InferenceError.tooLarge(
      opType: "graph input", node: "", tensor: "x", shape: [1, 2, 20_000, 20_000],
      maximum: 1 << 28)) {
      try InferenceSession(model: graph.model())
    }
    var transposed = GraphBuilder()
    transposed.input("x", [1, 2, 64, 64])
    transposed.constant("w", try Tensor.random(shape: [2, 4, 3, 3], seed: 1))
    transposed.node("ConvTranspose", ["x", "w"], ["y"], name: "up", ["strides": .ints([300, 300])])
    transposed.outputs = ["y"]
    #expect {
      try InferenceSession(model: transposed.model())
    } throws: { error in
      guard case let .tooLarge(opType, node, tensor, _, _) = error as? InferenceError else {
        return false
      }
      return opType == "ConvTranspose" && node == "up" && tensor == "y"
    }
  }

  @Test func anOpsetOutsideTheSupportedRangeIsRefused() throws {
    #expect(throws: InferenceError.unsupportedOpset(domain: "", version: 5, supported: 6...21)) {
      try InferenceSession(model: convGraph().model(opset: 5))
    }
  }

  @Test func aConvolutionRuleBrokenByTheGraphNamesTheNode() throws {
    var graph = try convGraph()
    graph.nodes[0].attributes = [ONNXAttribute(name: "group", value: .int(3))]
    #expect {
      try InferenceSession(model: graph.model())
    } throws: { error in
      guard case let .convolution(node, _) = error as? InferenceError else { return false }
      return node == "conv"
    }
  }

  @Test func aWeightComputedAtRunTimeIsRefused() throws {
    var graph = GraphBuilder()
    graph.input("x", [1, 2, 4, 4])
    graph.input("w", [2, 1, 3, 3])
    graph.node("Conv", ["x", "w"], ["y"], name: "conv", ["group": .int(2)])
    graph.outputs = ["y"]
    #expect(throws: InferenceError.notConstant(opType: "Conv", node: "conv", input: "w")) {
      try InferenceSession(model: graph.model())
    }
  }

  @Test func inputsAreCheckedByNameAndShape() throws {
    let session = try InferenceSession(model: convGraph().model())
    let x = try Tensor.random(shape: [1, 2, 4, 4], seed: 1)
    #expect(throws: InferenceError.missingInput(name: "x")) { try session.run([:]) }
    #expect(throws: InferenceError.unknownInput(name: "z", graphInputs: ["x"])) {
      try session.run(["x": x, "z": x])
    }
    #expect(throws: InferenceError.inputShape(
      name: "x", declared: [.value(1), .value(2), .value(4), .value(4)], actual: [1, 2, 4, 5])) {
      try session.run(["x": Tensor(shape: [1, 2, 4, 5])])
    }
  }

  @Test func aSymbolicBatchIsPreparedForEachShape() throws {
    var graph = try convGraph()
    graph.inputs = [
      ONNXValueInfo(
        name: "x", type: .tensor(elementType: .float, shape: [.parameter("N"), .value(2), .value(4), .value(4)]))
    ]
    let session = try InferenceSession(model: graph.model())
    #expect(session.planSummary == nil)
    for batch in [1, 3] {
      let x = try Tensor.random(shape: [batch, 2, 4, 4], seed: 2)
      let y = try #require(try session.run(["x": x])["y"])
      let w = try #require(graph.initializers[0].value.floatTensor)
      expectClose(y, try convolution(x, weight: w, options: ConvolutionOptions(groups: 2)))
    }
  }

  @Test func aTruncatedFileIsAModelError() throws {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Fixtures/unsupported_operator.onnx").path
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    let truncated = FileManager.default.temporaryDirectory
      .appendingPathComponent("truncated-\(UUID().uuidString).onnx")
    try Data(bytes.prefix(bytes.count / 2)).write(to: truncated)
    defer { try? FileManager.default.removeItem(at: truncated) }
    #expect {
      try InferenceSession(contentsOf: truncated.path)
    } throws: { error in
      guard case .model = error as? InferenceError else { return false }
      return "\(error)".contains(truncated.path)
    }
  }
}
