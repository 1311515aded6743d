/// An ONNX model: `ModelProto`, with its graph and every initializer decoded.
///
/// ```swift
/// let model = try ONNX.load(contentsOf: "mobilenet.onnx")
/// print(model.opsetVersion() ?? 1, model.graph.nodes.map(\.opType))
/// let weight = model.graph.initializer(named: "conv.weight")?.value.floatTensor
/// ```
public struct ONNXModel: Equatable, Sendable {
  /// The IR (file format) version (field 1): 3 for ONNX 1.0, 7 for 1.6, 10 for 1.16.
  public var irVersion: Int
  /// The operator sets the graph uses (field 8), one per domain.
  public var opsetImports: [ONNXOperatorSet]
  /// The tool that wrote the model (field 2): `pytorch`.
  public var producerName: String
  /// That tool's version (field 3).
  public var producerVersion: String
  /// The model's namespace (field 4), often empty.
  public var domain: String
  /// The model's own version (field 5).
  public var modelVersion: Int
  /// The graph (field 7).
  public var graph: ONNXGraph

  /// A model from its parts.
  public init(
    irVersion: Int, opsetImports: [ONNXOperatorSet], producerName: String = "",
    producerVersion: String = "", domain: String = "", modelVersion: Int = 0,
    graph: ONNXGraph
  ) {
    self.irVersion = irVersion
    self.opsetImports = opsetImports
    self.producerName = producerName
    self.producerVersion = producerVersion
    self.domain = domain
    self.modelVersion = modelVersion
    self.graph = graph
  }

  /// The version of the operator set imported for `domain`, or nil when the model imports
  /// none. The standard operators' domain is spelled `""` or `"ai.onnx"`; either finds it.
  public func opsetVersion(domain: String = "") -> Int? {
    let standard = ["", "ai.onnx"]
    let wanted = standard.contains(domain) ? standard : [domain]
    return opsetImports.last { wanted.contains($0.domain) }?.version
  }
}

/// An imported operator set: `OperatorSetIdProto`. Opset 13 of the default domain fixes
/// the semantics of every standard operator the graph uses.
public struct ONNXOperatorSet: Equatable, Sendable {
  /// The domain (field 1): empty or `ai.onnx` for the standard operators.
  public var domain: String
  /// The operator set's version (field 2).
  public var version: Int

  /// An operator set from its parts.
  public init(domain: String = "", version: Int) {
    self.domain = domain
    self.version = version
  }
}

// MARK: - ModelProto

extension ONNXModel {
  /// Reads a `ModelProto` from the root of `reader`.
  ///
  /// - Throws: every wire-format, tensor and external-data error; `missingGraph` without
  ///   field 7; `missingOpsetImport` when IR version 3 or later imports no operator set.
  init(decoding message: ProtobufReader, external: ExternalDataFiles) throws(ONNXError) {
    var reader = message
    var irVersion = 0
    var opsetImports: [ONNXOperatorSet] = []
    var (producerName, producerVersion, domain) = ("", "", "")
    var modelVersion = 0
    var graph: ONNXGraph?
    while let field = try reader.next() {
      switch field.number {
      case 1: irVersion = Int(truncatingIfNeeded: try reader.int64(field, "ir_version"))
      case 2: producerName = try reader.string(field, "producer_name")
      case 3: producerVersion = try reader.string(field, "producer_version")
      case 4: domain = try reader.string(field, "domain")
      case 5: modelVersion = Int(truncatingIfNeeded: try reader.int64(field, "model_version"))
      case 7: graph = try ONNXGraph(decoding: reader.message(field, "graph"), external: external)
      case 8:
        var opset = try reader.message(field, "opset_import", index: opsetImports.count)
        opsetImports.append(try ONNXOperatorSet(decoding: &opset))
      default: try reader.skip(field)
      }
    }
    guard let graph else { throw .missingGraph(source: reader.source) }
    guard irVersion < 3 || !opsetImports.isEmpty else {
      throw .missingOpsetImport(source: reader.source, irVersion: irVersion)
    }
    self.init(
      irVersion: irVersion, opsetImports: opsetImports, producerName: producerName,
      producerVersion: producerVersion, domain: domain, modelVersion: modelVersion,
      graph: graph)
  }
}

extension ONNXOperatorSet {
  /// Reads an `OperatorSetIdProto`.
  init(decoding reader: inout ProtobufReader) throws(ONNXError) {
    self.init(version: 0)
    while let field = try reader.next() {
      switch field.number {
      case 1: domain = try reader.string(field, "domain")
      case 2: version = Int(truncatingIfNeeded: try reader.int64(field, "version"))
      default: try reader.skip(field)
      }
    }
  }
}
