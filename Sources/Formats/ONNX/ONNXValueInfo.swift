/// A named value's declared type: `ValueInfoProto`, used for a graph's inputs, outputs and
/// intermediate values.
public struct ONNXValueInfo: Equatable, Sendable {
  /// The value's name (field 1).
  public var name: String
  /// Its type (field 2), or nil when the file declares none.
  public var type: ONNXType?

  /// A value's description from its parts.
  public init(name: String, type: ONNXType? = nil) {
    self.name = name
    self.type = type
  }
}

/// A value's type: `TypeProto`. Tensors are described fully; the other kinds by name.
public enum ONNXType: Equatable, Sendable {
  /// A tensor (`tensor_type`, field 1): its element type, and its dimensions when the
  /// file gives a shape (nil: any rank).
  case tensor(elementType: ONNXDataType, shape: [ONNXDimension]?)
  /// A kind this reader does not describe: "sequence", "map", "optional", "sparse tensor",
  /// "opaque", or "unknown" for a `TypeProto` with none of them.
  case other(kind: String)
}

/// One dimension of a declared shape: `TensorShapeProto.Dimension`.
public enum ONNXDimension: Equatable, Sendable, CustomStringConvertible {
  /// A fixed size (`dim_value`), as stored.
  case value(Int)
  /// A named, symbolic size (`dim_param`) such as `batch`; dimensions with the same name
  /// are equal.
  case parameter(String)
  /// Neither: a size not known.
  case unknown

  /// `3`, `batch`, or `?`.
  public var description: String {
    switch self {
    case let .value(size): "\(size)"
    case let .parameter(name): name
    case .unknown: "?"
    }
  }
}

// MARK: - ValueInfoProto, TypeProto and TensorShapeProto

extension ONNXValueInfo {
  /// Reads a `ValueInfoProto`.
  init(decoding message: ProtobufReader) throws(ONNXError) {
    var reader = message
    self.init(name: "")
    while let field = try reader.next() {
      switch field.number {
      case 1: name = try reader.string(field, "name")
      case 2: type = try ONNXType(decoding: reader.message(field, "type"))
      default: try reader.skip(field)
      }
    }
  }
}

extension ONNXType {
  /// Reads a `TypeProto`; of its `value` oneof, the last field present wins.
  init(decoding message: ProtobufReader) throws(ONNXError) {
    var reader = message
    self = .other(kind: "unknown")
    let kinds = [
      4: ("sequence", "sequence_type"), 5: ("map", "map_type"),
      9: ("optional", "optional_type"), 8: ("sparse tensor", "sparse_tensor_type"),
      7: ("opaque", "opaque_type"),
    ]
    while let field = try reader.next() {
      if field.number == 1 {
        self = try Self.tensor(decoding: reader.message(field, "tensor_type"))
      } else if let (kind, fieldName) = kinds[field.number] {
        _ = try reader.lengthDelimited(field, fieldName)
        self = .other(kind: kind)
      } else {
        try reader.skip(field)
      }
    }
  }

  /// Reads a `TypeProto.Tensor`: elem_type (field 1) and shape (field 2).
  private static func tensor(decoding message: ProtobufReader) throws(ONNXError) -> ONNXType {
    var reader = message
    var elementType = ONNXDataType.undefined
    var shape: [ONNXDimension]?
    while let field = try reader.next() {
      switch field.number {
      case 1: elementType = ONNXDataType(rawValue: try reader.int32(field, "elem_type"))
      case 2:
        var dimensions: [ONNXDimension] = []
        var shapeReader = try reader.message(field, "shape")
        while let field = try shapeReader.next() {
          guard field.number == 1 else {
            try shapeReader.skip(field)
            continue
          }
          let dimension = try shapeReader.message(field, "dim", index: dimensions.count)
          dimensions.append(try ONNXDimension(decoding: dimension))
        }
        shape = dimensions
      default: try reader.skip(field)
      }
    }
    return .tensor(elementType: elementType, shape: shape)
  }
}

extension ONNXDimension {
  /// Reads a `TensorShapeProto.Dimension`; of dim_value and dim_param, the last wins.
  init(decoding message: ProtobufReader) throws(ONNXError) {
    var reader = message
    self = .unknown
    while let field = try reader.next() {
      switch field.number {
      case 1: self = .value(Int(truncatingIfNeeded: try reader.int64(field, "dim_value")))
      case 2: self = .parameter(try reader.string(field, "dim_param"))
      default: try reader.skip(field)
      }
    }
  }
}
