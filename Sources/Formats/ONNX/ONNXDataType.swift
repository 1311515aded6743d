/// An ONNX element type: `TensorProto.DataType`, as stored in `TensorProto.data_type` and
/// `TypeProto.Tensor.elem_type`.
///
/// A struct rather than an enum so that any stored value, known or not, can be represented
/// and named in messages: `FLOAT (1)`, `unknown (99)`.
public struct ONNXDataType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
  /// The number stored in the file.
  public var rawValue: Int32

  /// The type with the stored number `rawValue`.
  public init(rawValue: Int32) { self.rawValue = rawValue }

  public static let undefined = Self(rawValue: 0)
  public static let float = Self(rawValue: 1)
  public static let uint8 = Self(rawValue: 2)
  public static let int8 = Self(rawValue: 3)
  public static let uint16 = Self(rawValue: 4)
  public static let int16 = Self(rawValue: 5)
  public static let int32 = Self(rawValue: 6)
  public static let int64 = Self(rawValue: 7)
  public static let string = Self(rawValue: 8)
  public static let bool = Self(rawValue: 9)
  public static let float16 = Self(rawValue: 10)
  public static let double = Self(rawValue: 11)
  public static let uint32 = Self(rawValue: 12)
  public static let uint64 = Self(rawValue: 13)
  public static let complex64 = Self(rawValue: 14)
  public static let complex128 = Self(rawValue: 15)
  public static let bfloat16 = Self(rawValue: 16)

  /// ONNX's name for the type (`FLOAT`, `INT64`), or nil for a number `onnx.proto` does
  /// not define.
  public var name: String? {
    guard rawValue >= 0, Int(rawValue) < Self.names.count else { return nil }
    return Self.names[Int(rawValue)]
  }

  /// The name and number: `FLOAT (1)`, or `unknown (99)`.
  public var description: String { "\(name ?? "unknown") (\(rawValue))" }

  /// The bytes one element takes in `raw_data` and external data, for the types this
  /// reader converts; nil for the others.
  public var byteSize: Int? {
    switch self {
    case .float, .int32: 4
    case .double, .int64: 8
    case .float16, .bfloat16, .int16, .uint16: 2
    case .int8, .uint8, .bool: 1
    default: nil
    }
  }

  /// The typed field of `TensorProto` that holds elements of this type, when `raw_data`
  /// does not: `float_data`, `int32_data` (which also carries the narrower integers, bool
  /// and the bits of float16 and bfloat16), `int64_data` or `double_data`.
  var typedField: ONNXTensorStorage? {
    switch self {
    case .float: .floatData
    case .double: .doubleData
    case .int64: .int64Data
    case .int32, .int16, .int8, .uint16, .uint8, .bool, .float16, .bfloat16: .int32Data
    default: nil
    }
  }

  /// In `TensorProto.DataType`'s order.
  private static let names = [
    "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "STRING",
    "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16",
    "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "UINT4", "INT4",
    "FLOAT4E2M1", "FLOAT8E8M0", "UINT2", "INT2", "FLOAT6E2M3", "FLOAT6E3M2",
  ]

  /// The types tensors can hold, for messages.
  static let supportedNames =
    "FLOAT, FLOAT16, BFLOAT16, DOUBLE (read as float32), INT64, INT32, INT16, INT8, UINT16, "
    + "UINT8 (read as int32) or BOOL"
}
