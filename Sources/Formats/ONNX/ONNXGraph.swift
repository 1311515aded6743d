/// A computation graph: `GraphProto`. Nodes in topological order, the initializers
/// (constant tensors, usually weights), and the typed inputs and outputs.
///
/// An input that has an initializer of the same name is a constant with a default value
/// (IR version 3 listed every initializer among the inputs; version 4 and later need not).
public struct ONNXGraph: Equatable, Sendable {
  /// The graph's name (field 2).
  public var name: String
  /// The nodes (field 1), in the order the file lists them, which ONNX requires to be a
  /// topological order.
  public var nodes: [ONNXNode]
  /// The constant tensors (field 5), decoded and checked.
  public var initializers: [ONNXTensor]
  /// The graph's inputs (field 11), with their types when declared.
  public var inputs: [ONNXValueInfo]
  /// The graph's outputs (field 12).
  public var outputs: [ONNXValueInfo]
  /// Types of intermediate values (field 13), where the producer recorded them.
  public var valueInfo: [ONNXValueInfo]

  /// A graph from its parts.
  public init(
    name: String = "", nodes: [ONNXNode] = [], initializers: [ONNXTensor] = [],
    inputs: [ONNXValueInfo] = [], outputs: [ONNXValueInfo] = [], valueInfo: [ONNXValueInfo] = []
  ) {
    self.name = name
    self.nodes = nodes
    self.initializers = initializers
    self.inputs = inputs
    self.outputs = outputs
    self.valueInfo = valueInfo
  }

  /// The first initializer called `name`, if any.
  public func initializer(named name: String) -> ONNXTensor? {
    initializers.first { $0.name == name }
  }
}

// MARK: - GraphProto

extension ONNXGraph {
  /// Reads a `GraphProto`, decoding every initializer.
  ///
  /// - Throws: wire-format and tensor errors, and `unsupportedField` for
  ///   `sparse_initializer` (field 15).
  init(decoding message: ProtobufReader, external: ExternalDataFiles) throws(ONNXError) {
    var reader = message
    self.init()
    while let field = try reader.next() {
      switch field.number {
      case 1:
        let node = try reader.message(field, "node", index: nodes.count)
        nodes.append(try ONNXNode(decoding: node, external: external))
      case 2: name = try reader.string(field, "name")
      case 5:
        let tensor = try reader.message(field, "initializer", index: initializers.count)
        initializers.append(try ONNXTensor(decoding: tensor, external: external))
      case 11:
        inputs.append(
          try ONNXValueInfo(decoding: reader.message(field, "input", index: inputs.count)))
      case 12:
        outputs.append(
          try ONNXValueInfo(decoding: reader.message(field, "output", index: outputs.count)))
      case 13:
        valueInfo.append(
          try ONNXValueInfo(decoding: reader.message(field, "value_info", index: valueInfo.count)))
      case 15:
        throw .unsupportedField(
          source: reader.source, path: reader.path, field: "sparse_initializer (field 15)",
          offset: field.offset)
      default: try reader.skip(field)
      }
    }
  }
}
