/// One operation of a graph: `NodeProto`.
public struct ONNXNode: Equatable, Sendable {
  /// The node's name (field 3); often empty or not unique.
  public var name: String
  /// The operator (field 4): `Conv`, `Relu`.
  public var opType: String
  /// The operator's domain (field 7): empty (or `ai.onnx`) for the standard operators.
  public var domain: String
  /// The names of the values the node reads (field 1), in the operator's order; an empty
  /// name stands for an optional input left out.
  public var inputs: [String]
  /// The names of the values the node writes (field 2); empty for an optional output.
  public var outputs: [String]
  /// The attributes (field 5), in the order the file lists them.
  public var attributes: [ONNXAttribute]

  /// A node from its parts.
  public init(
    name: String = "", opType: String, domain: String = "", inputs: [String],
    outputs: [String], attributes: [ONNXAttribute] = []
  ) {
    self.name = name
    self.opType = opType
    self.domain = domain
    self.inputs = inputs
    self.outputs = outputs
    self.attributes = attributes
  }

  /// The value of the attribute called `name`, if the node has one.
  public func attribute(_ name: String) -> ONNXAttributeValue? {
    attributes.last { $0.name == name }?.value
  }
}

// MARK: - NodeProto

extension ONNXNode {
  /// Reads a `NodeProto`.
  init(decoding message: ProtobufReader, external: ExternalDataFiles) throws(ONNXError) {
    var reader = message
    self.init(opType: "", inputs: [], outputs: [])
    while let field = try reader.next() {
      switch field.number {
      case 1: inputs.append(try reader.string(field, "input"))
      case 2: outputs.append(try reader.string(field, "output"))
      case 3: name = try reader.string(field, "name")
      case 4: opType = try reader.string(field, "op_type")
      case 7: domain = try reader.string(field, "domain")
      case 5:
        let attribute = try reader.message(field, "attribute", index: attributes.count)
        attributes.append(try ONNXAttribute(decoding: attribute, external: external))
      default: try reader.skip(field)
      }
    }
  }
}
