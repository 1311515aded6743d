import GroupConv

/// A small ONNX graph written in Swift, for tests of the session.
struct GraphBuilder {
  var nodes: [ONNXNode] = []
  var initializers: [ONNXTensor] = []
  var inputs: [ONNXValueInfo] = []
  var outputs: [String] = []

  mutating func input(_ name: String, _ shape: [Int]) {
    inputs.append(
      ONNXValueInfo(name: name, type: .tensor(elementType: .float, shape: shape.map { .value($0) })))
  }

  mutating func constant(_ name: String, _ tensor: Tensor) {
    initializers.append(
      ONNXTensor(name: name, dataType: .float, value: .float(shape: tensor.shape, values: tensor.scalars)))
  }

  mutating func integers(_ name: String, _ values: [Int]) {
    initializers.append(
      ONNXTensor(name: name, dataType: .int64, value: .int64(shape: [values.count], values: values.map(Int64.init))))
  }

  mutating func node(
    _ opType: String, _ inputs: [String], _ outputs: [String], name: String? = nil,
    _ attributes: [String: ONNXAttributeValue] = [:]
  ) {
    nodes.append(
      ONNXNode(
        name: name ?? "\(opType.lowercased())\(nodes.count)", opType: opType, inputs: inputs,
        outputs: outputs,
        attributes: attributes.sorted { $0.key < $1.key }.map { ONNXAttribute(name: $0.key, value: $0.value) }))
  }

  func model(opset: Int = 13) -> ONNXModel {
    ONNXModel(
      irVersion: 8, opsetImports: [ONNXOperatorSet(version: opset)],
      graph: ONNXGraph(
        name: "test", nodes: nodes, initializers: initializers, inputs: inputs,
        outputs: outputs.map { ONNXValueInfo(name: $0) }))
  }
}
