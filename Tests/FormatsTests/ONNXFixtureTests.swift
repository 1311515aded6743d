import Foundation
import Formats
import Testing

/// The committed models: PyTorch exports at several opsets and `onnx.helper` models.
let onnxFixtures = [
  "conv_groups_relu_opset11.onnx", "conv_groups_relu_opset17.onnx",
  "conv_transpose_opset13.onnx", "depthwise_separable_opset11.onnx",
  "depthwise_separable_opset17.onnx", "handmade.onnx", "external/model.onnx",
]

// MARK: - Every fixture, field by field

@Suite struct ONNXFixtureTests {
  @Test(arguments: onnxFixtures)
  func decodesWhatTheOnnxPackageReads(_ name: String) throws {
    let expected = try #require(try expectedModels()[name])
    let model = try ONNX.load(contentsOf: onnxFixturePath(name))
    expectModel(model, matches: expected, name)
  }

  @Test func everyFixtureIsListed() throws {
    #expect(Set(try expectedModels().keys) == Set(onnxFixtures))
  }

  @Test(arguments: onnxFixtures.filter { !$0.hasPrefix("external/") })
  func decodingBytesEqualsLoadingTheFile(_ name: String) throws {
    let loaded = try ONNX.load(contentsOf: onnxFixturePath(name))
    #expect(try ONNX.decode(onnxFixtureBytes(name)) == loaded)
  }
}

// MARK: - PyTorch exports

@Suite struct ONNXPyTorchExportTests {
  @Test(arguments: [("conv_groups_relu_opset11.onnx", 11), ("conv_groups_relu_opset17.onnx", 17)])
  func groupedConvolutionWithBiasAndReLU(_ name: String, opset: Int) throws {
    let model = try ONNX.load(contentsOf: onnxFixturePath(name))
    #expect(model.producerName == "pytorch")
    #expect(model.opsetVersion() == opset)
    #expect(model.opsetVersion(domain: "ai.onnx") == opset)
    #expect(model.graph.nodes.map(\.opType) == ["Conv", "Relu"])
    let conv = model.graph.nodes[0]
    #expect(conv.inputs == ["x", "conv.weight", "conv.bias"])
    #expect(conv.attribute("group") == .int(2))
    #expect(conv.attribute("kernel_shape") == .ints([3, 3]))
    #expect(conv.attribute("strides") == .ints([2, 2]))
    #expect(conv.attribute("pads") == .ints([1, 1, 1, 1]))
    #expect(conv.attribute("auto_pad") == nil)
    // Conv2d(4, 6, 3, groups=2): weight [out, in / groups, kH, kW].
    let weight = try #require(model.graph.initializer(named: "conv.weight"))
    #expect(weight.shape == [6, 2, 3, 3])
    #expect(weight.storage == .rawData)
    #expect(weight.value.floatTensor?.shape == [6, 2, 3, 3])
    #expect(model.graph.initializer(named: "conv.bias")?.shape == [6])
    let input = try #require(model.graph.inputs.first)
    #expect(
      input.type == .tensor(elementType: .float,
                            shape: [.parameter("batch"), .value(4), .value(5), .value(5)]))
    #expect(model.graph.outputs.map(\.name) == ["y"])
  }

  @Test func groupedTransposedConvolution() throws {
    let model = try ONNX.load(contentsOf: onnxFixturePath("conv_transpose_opset13.onnx"))
    let deconv = try #require(model.graph.nodes.first)
    #expect(deconv.opType == "ConvTranspose")
    #expect(deconv.attribute("group") == .int(2))
    #expect(deconv.attribute("output_padding") == .ints([1, 1]))
    // ConvTranspose2d(4, 6, 3, groups=2): weight [in, out / groups, kH, kW].
    #expect(model.graph.initializer(named: "deconv.weight")?.shape == [4, 3, 3, 3])
  }

  @Test(arguments: ["depthwise_separable_opset11.onnx", "depthwise_separable_opset17.onnx"])
  func depthwiseSeparableBlock(_ name: String) throws {
    let model = try ONNX.load(contentsOf: onnxFixturePath(name))
    // The exporter folds BatchNorm into the depthwise convolution; ReLU6 becomes Clip
    // with its bounds as Constant inputs (opset 11 and later).
    #expect(model.graph.nodes.map(\.opType) == ["Conv", "Constant", "Constant", "Clip", "Conv"])
    #expect(model.graph.nodes[0].attribute("group") == .int(4))
    #expect(model.graph.nodes[4].attribute("kernel_shape") == .ints([1, 1]))
    let bounds = model.graph.nodes[1...2].compactMap { node -> ONNXTensorValue? in
      guard case let .tensor(tensor)? = node.attribute("value") else { return nil }
      return tensor.value
    }
    #expect(bounds == [.float(shape: [], values: [0]), .float(shape: [], values: [6])])
    let depthwise = try #require(model.graph.initializer(named: model.graph.nodes[0].inputs[1]))
    #expect(depthwise.shape == [4, 1, 3, 3])
  }
}

// MARK: - onnx.helper models

@Suite struct ONNXHandmadeModelTests {
  let model: ONNXModel

  init() throws {
    model = try ONNX.load(contentsOf: onnxFixturePath("handmade.onnx"))
  }

  func initializer(_ name: String) throws -> ONNXTensor {
    try #require(model.graph.initializer(named: name))
  }

  @Test func modelFields() {
    #expect(model.irVersion == 8)
    #expect(model.producerName == "make_onnx_fixtures")
    #expect(model.modelVersion == 3)
    #expect(model.domain == "org.example")
    #expect(model.opsetVersion() == 13)
    #expect(model.opsetVersion(domain: "com.example") == 1)
    #expect(model.opsetVersion(domain: "ai.onnx.ml") == nil)
  }

  @Test func initializersInEveryStorage() throws {
    #expect(try initializer("w_raw").storage == .rawData)
    #expect(try initializer("b_floats").storage == .floatData)
    #expect(try initializer("b_floats").value == .float(shape: [4], values: [0.5, -1.25, 2, 0]))
    #expect(try initializer("shape_raw").value == .int64(shape: [2], values: [1, -1]))
    #expect(try initializer("axes_int64").storage == .int64Data)
    #expect(try initializer("axes_int64").value.integers == [0, -3])
    #expect(
      try initializer("int32_values").value
        == .int32(shape: [3], values: [7, -8, .max]))
    #expect(try initializer("half_raw").value == .float(shape: [3], values: [1, -2, 65504]))
    #expect(try initializer("half_int32").storage == .int32Data)
    #expect(try initializer("half_int32").value == .float(shape: [2], values: [0.5, -0.25]))
    #expect(try initializer("doubles").dataType == .double)
    #expect(try initializer("doubles").value == .float(shape: [2], values: [Float(0.1), -3.5]))
    #expect(try initializer("bfloat16_raw").value == .float(shape: [2], values: [1.5, -3]))
    #expect(try initializer("scalar").value == .float(shape: [], values: [3]))
    #expect(try initializer("empty").value == .float(shape: [0, 3], values: []))
    #expect(try initializer("empty").storage == .absent)
    #expect(try initializer("uint8_raw").value == .int32(shape: [3], values: [0, 200, 255]))
    #expect(try initializer("int8_values").value == .int32(shape: [3], values: [-128, 0, 127]))
    #expect(try initializer("flags").value == .bool(shape: [3], values: [true, false, true]))
  }

  @Test func attributesOfEveryTypeCNNOperatorsUse() throws {
    let nodes = Dictionary(uniqueKeysWithValues: model.graph.nodes.map { ($0.name, $0) })
    let conv = try #require(nodes["conv"])
    #expect(conv.attribute("kernel_shape") == .ints([3, 3]))
    #expect(conv.attribute("group") == .int(4))
    #expect(conv.attribute("auto_pad") == .string("NOTSET"))
    #expect(nodes["leaky"]?.attribute("alpha") == .float(0.125))
    #expect(nodes["hard_sigmoid"]?.attribute("alpha") == .float(0.2))
    #expect(nodes["constant_floats"]?.attribute("value_floats") == .floats([1.5, -0.5]))
    #expect(nodes["constant_ints"]?.attribute("value_ints") == .ints([4, -5]))
    let value = try #require(nodes["constant_tensor"]?.attribute("value"))
    #expect(
      value
        == .tensor(ONNXTensor(
          name: "", dataType: .int64, value: .int64(shape: [3], values: [1, 2, 3]),
          storage: .int64Data)))
    let tag = try #require(nodes["tag"])
    #expect(tag.domain == "com.example")
    #expect(tag.inputs == ["y3", ""])
    #expect(tag.attribute("labels") == .strings(["depthwise", "3x3"]))
    #expect(tag.attribute("scales") == .floats([0.25, 4]))
    #expect(tag.attribute("count")?.type == .int)
    #expect(tag.attribute("missing") == nil)
  }

  @Test func subgraphsAreDecoded() throws {
    let branch = try #require(model.graph.nodes.last)
    #expect(branch.opType == "If")
    guard case let .graph(thenBranch)? = branch.attribute("then_branch"),
      case let .graph(elseBranch)? = branch.attribute("else_branch")
    else {
      Issue.record("If without graph attributes: \(branch.attributes)")
      return
    }
    #expect(thenBranch.nodes.map(\.opType) == ["Identity"])
    #expect(elseBranch.nodes.map(\.opType) == ["Neg"])
    let output = ONNXValueInfo(name: "else_out", type: .tensor(elementType: .float, shape: nil))
    #expect(elseBranch.outputs == [output])
  }

  @Test func declaredShapesKeepSymbolicDimensions() {
    let x = model.graph.inputs[0]
    #expect(
      x.type == .tensor(elementType: .float,
                        shape: [.parameter("batch"), .value(4), .parameter("height"), .value(8)]))
    #expect(model.graph.inputs[1].type == .tensor(elementType: .bool, shape: []))
    #expect(model.graph.inputs[2].type == .tensor(elementType: .float, shape: nil))
    #expect(
      model.graph.valueInfo
        == [ONNXValueInfo(
          name: "y1",
          type: .tensor(elementType: .float,
                        shape: [.parameter("batch"), .value(4), .unknown, .value(8)]))])
    let dimensions: [ONNXDimension] = [.parameter("batch"), .value(4), .unknown]
    #expect(dimensions.map(\.description) == ["batch", "4", "?"])
  }
}
