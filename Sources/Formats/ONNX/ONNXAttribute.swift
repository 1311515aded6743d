/// A node's named attribute: `AttributeProto`.
///
/// `Conv`'s `group` is `ONNXAttribute(name: "group", value: .int(2))`, its `pads`
/// `.ints([1, 1, 1, 1])`, `auto_pad` `.string("SAME_UPPER")`.
public struct ONNXAttribute: Equatable, Sendable {
  /// The attribute's name (field 1), unique within its node.
  public var name: String
  /// The value, of the type the attribute declares (field 20).
  public var value: ONNXAttributeValue

  /// An attribute from its parts.
  public init(name: String, value: ONNXAttributeValue) {
    self.name = name
    self.value = value
  }
}

/// An attribute's value, by type.
///
/// Integers are `Int` (64-bit), as ONNX's `int64`. Strings are decoded as UTF-8 (invalid
/// bytes become U+FFFD). Tensors are decoded and checked as initializers are. Sub-graphs
/// (`If`, `Loop`, `Scan`) are decoded too, so an engine can name what it does not run.
/// Sparse tensors and type protos are recorded by type only.
public enum ONNXAttributeValue: Equatable, Sendable {
  case float(Float)
  case int(Int)
  case string(String)
  case tensor(ONNXTensor)
  case graph(ONNXGraph)
  case floats([Float])
  case ints([Int])
  case strings([String])
  case tensors([ONNXTensor])
  case graphs([ONNXGraph])
  /// A value this reader does not decode: SPARSE_TENSOR(S), TYPE_PROTO(S), or a type
  /// `onnx.proto` does not define.
  case unsupported(ONNXAttributeType)

  /// The value's type, as `AttributeProto.type` numbers it.
  public var type: ONNXAttributeType {
    switch self {
    case .float: .float
    case .int: .int
    case .string: .string
    case .tensor: .tensor
    case .graph: .graph
    case .floats: .floats
    case .ints: .ints
    case .strings: .strings
    case .tensors: .tensors
    case .graphs: .graphs
    case let .unsupported(type): type
    }
  }
}

/// An attribute's type: `AttributeProto.AttributeType`. A struct so that any stored value
/// can be represented and named: `INTS (7)`, `unknown (99)`.
public struct ONNXAttributeType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
  /// The number stored in the file.
  public var rawValue: Int32

  /// The type with the stored number `rawValue`.
  public init(rawValue: Int32) { self.rawValue = rawValue }

  public static let undefined = Self(rawValue: 0)
  public static let float = Self(rawValue: 1)
  public static let int = Self(rawValue: 2)
  public static let string = Self(rawValue: 3)
  public static let tensor = Self(rawValue: 4)
  public static let graph = Self(rawValue: 5)
  public static let floats = Self(rawValue: 6)
  public static let ints = Self(rawValue: 7)
  public static let strings = Self(rawValue: 8)
  public static let tensors = Self(rawValue: 9)
  public static let graphs = Self(rawValue: 10)
  public static let sparseTensor = Self(rawValue: 11)
  public static let sparseTensors = Self(rawValue: 12)
  public static let typeProto = Self(rawValue: 13)
  public static let typeProtos = Self(rawValue: 14)

  private static let names = [
    "UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR", "GRAPH", "FLOATS", "INTS", "STRINGS",
    "TENSORS", "GRAPHS", "SPARSE_TENSOR", "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS",
  ]

  /// ONNX's name for the type (`INTS`), or nil for a number `onnx.proto` does not define.
  public var name: String? {
    guard rawValue >= 0, Int(rawValue) < Self.names.count else { return nil }
    return Self.names[Int(rawValue)]
  }

  /// The name and number: `INTS (7)`.
  public var description: String { "\(name ?? "unknown") (\(rawValue))" }

  /// The field of `AttributeProto` holding a value of this type: `i (field 3)`.
  var valueField: String {
    let fields = [
      1: "f (field 2)", 2: "i (field 3)", 3: "s (field 4)", 4: "t (field 5)", 5: "g (field 6)",
      6: "floats (field 7)", 7: "ints (field 8)", 8: "strings (field 9)",
      9: "tensors (field 10)", 10: "graphs (field 11)", 11: "sparse_tensor (field 22)",
      12: "sparse_tensors (field 23)", 13: "tp (field 14)", 14: "type_protos (field 15)",
    ]
    return fields[Int(rawValue)] ?? "none"
  }
}

// MARK: - AttributeProto

extension ONNXAttribute {
  /// Reads an `AttributeProto`. The value is taken from the field `type` names; lists may
  /// be empty, single values must be present. Without a type (IR version 1), the type is
  /// inferred from the one value field present.
  ///
  /// - Throws: wire-format errors; tensor errors for `t` and `tensors`;
  ///   `attributeMissingValue` and `undefinedAttributeType`.
  init(decoding message: ProtobufReader, external: ExternalDataFiles) throws(ONNXError) {
    var reader = message
    var name = ""
    var type = ONNXAttributeType.undefined
    var f: Float?
    var i: Int?
    var s: String?
    var t: ONNXTensor?
    var g: ONNXGraph?
    var floats: [Float] = []
    var ints: [Int64] = []
    var strings: [String] = []
    var tensors: [ONNXTensor] = []
    var graphs: [ONNXGraph] = []
    var present: Set<ONNXAttributeType> = []
    while let field = try reader.next() {
      switch field.number {
      case 1: name = try reader.string(field, "name")
      case 20: type = ONNXAttributeType(rawValue: try reader.int32(field, "type"))
      case 2: f = try reader.float(field, "f")
      case 3: i = Int(truncatingIfNeeded: try reader.int64(field, "i"))
      case 4: s = try reader.string(field, "s")
      case 5: t = try ONNXTensor(decoding: reader.message(field, "t"), external: external)
      case 6: g = try ONNXGraph(decoding: reader.message(field, "g"), external: external)
      case 7:
        try reader.appendFloats(field, "floats", to: &floats)
        present.insert(.floats)
      case 8:
        try reader.appendInt64s(field, "ints", to: &ints)
        present.insert(.ints)
      case 9:
        strings.append(try reader.string(field, "strings"))
        present.insert(.strings)
      case 10:
        let tensor = try reader.message(field, "tensors", index: tensors.count)
        tensors.append(try ONNXTensor(decoding: tensor, external: external))
        present.insert(.tensors)
      case 11:
        let graph = try reader.message(field, "graphs", index: graphs.count)
        graphs.append(try ONNXGraph(decoding: graph, external: external))
        present.insert(.graphs)
      case 22, 23, 14, 15:
        try reader.skip(field)
        let types: [Int: ONNXAttributeType] = [
          22: .sparseTensor, 23: .sparseTensors, 14: .typeProto, 15: .typeProtos,
        ]
        present.insert(types[field.number]!)
      default: try reader.skip(field)
      }
    }
    if f != nil { present.insert(.float) }
    if i != nil { present.insert(.int) }
    if s != nil { present.insert(.string) }
    if t != nil { present.insert(.tensor) }
    if g != nil { present.insert(.graph) }

    if type == .undefined {
      guard present.count == 1, let inferred = present.first else {
        throw .undefinedAttributeType(
          source: reader.source, path: reader.path, offset: reader.start, attribute: name)
      }
      type = inferred
    }
    func missing() -> ONNXError {
      .attributeMissingValue(
        source: reader.source, path: reader.path, offset: reader.start, attribute: name,
        type: type)
    }
    let value: ONNXAttributeValue
    switch type {
    case .float: guard let f else { throw missing() }; value = .float(f)
    case .int: guard let i else { throw missing() }; value = .int(i)
    case .string: guard let s else { throw missing() }; value = .string(s)
    case .tensor: guard let t else { throw missing() }; value = .tensor(t)
    case .graph: guard let g else { throw missing() }; value = .graph(g)
    case .floats: value = .floats(floats)
    case .ints: value = .ints(ints.map { Int(truncatingIfNeeded: $0) })
    case .strings: value = .strings(strings)
    case .tensors: value = .tensors(tensors)
    case .graphs: value = .graphs(graphs)
    default: value = .unsupported(type)
    }
    self.init(name: name, value: value)
  }
}
