import Tensors

/// A tensor stored in an ONNX model — an initializer or a `Constant`'s value — with its
/// elements decoded and checked: `TensorProto`.
///
/// Whatever the file's storage (`raw_data`, a typed field such as `float_data`, or an
/// external file), the elements are converted to one of four element types the engine
/// computes with (see `ONNXTensorValue`); `dataType` keeps the type the file declared.
public struct ONNXTensor: Equatable, Sendable {
  /// The tensor's name (field 8), by which nodes refer to it; may be empty for a
  /// `Constant`'s value.
  public var name: String
  /// The element type the file declares (field 2), before conversion.
  public var dataType: ONNXDataType
  /// The shape and the converted elements, in row-major order.
  public var value: ONNXTensorValue
  /// Where in the file (or beside it) the elements were stored.
  public var storage: ONNXTensorStorage

  /// A tensor from its parts; `value` is taken as it is.
  public init(
    name: String, dataType: ONNXDataType, value: ONNXTensorValue,
    storage: ONNXTensorStorage = .absent
  ) {
    self.name = name
    self.dataType = dataType
    self.value = value
    self.storage = storage
  }

  /// The dimensions (field 1), each non-negative; `[]` for a scalar.
  public var shape: [Int] { value.shape }
}

/// A tensor's shape and elements, converted to the element types the engine uses.
///
/// - `float`: FLOAT as stored; FLOAT16 and BFLOAT16 exactly; DOUBLE rounded to nearest.
/// - `int64`: INT64, for shapes, axes, indices and pads.
/// - `int32`: INT32, and INT16, INT8, UINT16 and UINT8 widened exactly.
/// - `bool`: BOOL, any nonzero byte true.
///
/// Elements are in row-major (C) order, and `values.count` is the product of `shape` (1 for
/// a scalar, whose shape is `[]`). Equality compares elements with `==`, so NaN ≠ NaN.
public enum ONNXTensorValue: Equatable, Sendable {
  case float(shape: [Int], values: [Float])
  case int64(shape: [Int], values: [Int64])
  case int32(shape: [Int], values: [Int32])
  case bool(shape: [Int], values: [Bool])

  /// The dimensions; `[]` for a scalar.
  public var shape: [Int] {
    switch self {
    case let .float(shape, _), let .int64(shape, _), let .int32(shape, _),
      let .bool(shape, _):
      shape
    }
  }

  /// The number of elements: the product of `shape`.
  public var count: Int {
    switch self {
    case let .float(_, values): values.count
    case let .int64(_, values): values.count
    case let .int32(_, values): values.count
    case let .bool(_, values): values.count
    }
  }

  /// The elements as a float32 `Tensor` of the same shape, or nil when they are not floats.
  public var floatTensor: Tensor? {
    guard case let .float(shape, values) = self else { return nil }
    return Tensor(validShape: shape, scalars: values)
  }

  /// The elements as `Int64`s, widened from int32 and bool (as 0 and 1), or nil for floats:
  /// what an engine wants for shapes, axes and pads.
  public var integers: [Int64]? {
    switch self {
    case .float: nil
    case let .int64(_, values): values
    case let .int32(_, values): values.map(Int64.init)
    case let .bool(_, values): values.map { $0 ? 1 : 0 }
    }
  }
}

/// Where a tensor's elements were stored.
public enum ONNXTensorStorage: Equatable, Sendable, CustomStringConvertible {
  /// No data field: only for tensors with no elements.
  case absent
  /// `raw_data` (field 9): fixed-width little-endian elements.
  case rawData
  /// `float_data` (field 4).
  case floatData
  /// `int32_data` (field 5), which also holds narrower integers, bools and the bits of
  /// float16 and bfloat16 values.
  case int32Data
  /// `int64_data` (field 7).
  case int64Data
  /// `double_data` (field 10).
  case doubleData
  /// An external file: its `location` relative to the model's directory, the byte `offset`
  /// of the data, and its `length` (nil when `external_data` gives none: to the end).
  case external(location: String, offset: Int, length: Int?)

  /// `raw_data (field 9)`, `external file 'weights.bin' from byte 4096`.
  public var description: String {
    switch self {
    case .absent: "data (none)"
    case .rawData: "raw_data (field 9)"
    case .floatData: "float_data (field 4)"
    case .int32Data: "int32_data (field 5)"
    case .int64Data: "int64_data (field 7)"
    case .doubleData: "double_data (field 10)"
    case let .external(location, offset, length):
      "external file '\(printable(location))' from byte \(offset)"
        + (length.map { " (length \($0))" } ?? " to the end")
    }
  }

  /// Whether sizes of this storage count bytes (raw and external data) or values.
  var holdsBytes: Bool {
    switch self {
    case .rawData, .external, .absent: true
    case .floatData, .int32Data, .int64Data, .doubleData: false
    }
  }
}
