import Foundation

// MARK: - TensorProto

extension ONNXTensor {
  /// Reads a `TensorProto` message, checks its shape and data, and converts its elements;
  /// external data is read through `external`.
  ///
  /// The checks, in order: the data type is one `ONNXTensorValue` holds; every dimension is
  /// non-negative and the byte size fits in an `Int`; the data is in exactly one place
  /// (`raw_data`, the typed field the type uses, or an external file); and that place holds
  /// exactly the elements the shape needs. Nothing is allocated from a size that was not
  /// checked against the bytes that hold it.
  init(decoding message: ProtobufReader, external: ExternalDataFiles) throws(ONNXError) {
    var reader = message
    var proto = TensorProtoFields()
    while let field = try reader.next() {
      switch field.number {
      case 1: try reader.appendInt64s(field, "dims", to: &proto.dims)
      case 2: proto.dataType = try reader.int32(field, "data_type")
      case 3:
        throw .unsupportedField(
          source: reader.source, path: reader.path, field: "segment (field 3)",
          offset: field.offset)
      case 4:
        try reader.appendFloats(field, "float_data", to: &proto.floats)
      case 5:
        try reader.appendInt64s(field, "int32_data", to: &proto.int32Data)
      case 6:
        _ = try reader.lengthDelimited(field, "string_data")
        proto.otherFields.append("string_data (field 6)")
      case 7:
        try reader.appendInt64s(field, "int64_data", to: &proto.int64Data)
      case 8: proto.name = try reader.string(field, "name")
      case 9:
        proto.rawData = try reader.lengthDelimited(field, "raw_data")
      case 10:
        try reader.appendDoublesAsFloats(field, "double_data", to: &proto.doubles)
      case 11:
        var ignored: [Int64] = []
        try reader.appendInt64s(field, "uint64_data", to: &ignored)
        proto.otherFields.append("uint64_data (field 11)")
      case 13:
        var entry = try reader.message(field, "external_data", index: proto.externalData.count)
        proto.externalData.append(try stringPair(&entry))
      case 14: proto.dataLocation = try reader.int32(field, "data_location")
      default: try reader.skip(field)
      }
    }
    let context = TensorContext(
      source: reader.source, path: reader.path, offset: reader.start, name: proto.name)
    self = try context.tensor(from: proto, in: reader.bytes, external: external)
  }
}

/// Reads a `StringStringEntryProto`: key (field 1) and value (field 2).
func stringPair(_ reader: inout ProtobufReader) throws(ONNXError) -> (key: String, value: String) {
  var (key, value) = ("", "")
  while let field = try reader.next() {
    switch field.number {
    case 1: key = try reader.string(field, "key")
    case 2: value = try reader.string(field, "value")
    default: try reader.skip(field)
    }
  }
  return (key, value)
}

/// A `TensorProto`'s fields as read, before they are checked and converted.
struct TensorProtoFields {
  var dims: [Int64] = []
  var dataType: Int32 = 0
  var name = ""
  /// Where `raw_data` lies in the file's bytes; nil when the field is absent.
  var rawData: Range<Int>?
  var floats: [Float] = []
  var int32Data: [Int64] = []
  var int64Data: [Int64] = []
  /// `double_data`, rounded to float32 as it is read.
  var doubles: [Float] = []
  /// Data fields of types this reader refuses (`string_data`, `uint64_data`), as named.
  var otherFields: [String] = []
  var externalData: [(key: String, value: String)] = []
  var dataLocation: Int32 = 0
}

/// The tensor being decoded, for messages.
struct TensorContext {
  var source: String
  var path: String
  /// Where the tensor's message starts in the file.
  var offset: Int
  var name: String

  /// Checks `proto` and converts its elements, found in `bytes` or an external file.
  func tensor(
    from proto: TensorProtoFields, in bytes: [UInt8], external: ExternalDataFiles
  ) throws(ONNXError) -> ONNXTensor {
    let dataType = ONNXDataType(rawValue: proto.dataType)
    guard let itemSize = dataType.byteSize, let typedField = dataType.typedField else {
      throw .unsupportedDataType(
        source: source, path: path, offset: offset, tensor: name, dataType: dataType)
    }
    let (shape, count, byteCount) = try sizes(proto.dims, itemSize: itemSize)

    guard proto.dataLocation == 0 || proto.dataLocation == 1 else {
      throw .unsupportedDataLocation(
        source: source, path: path, offset: offset, tensor: name, value: Int(proto.dataLocation))
    }
    var present: [ONNXTensorStorage] = []
    if proto.rawData != nil { present.append(.rawData) }
    if !proto.floats.isEmpty { present.append(.floatData) }
    if !proto.int32Data.isEmpty { present.append(.int32Data) }
    if !proto.int64Data.isEmpty { present.append(.int64Data) }
    if !proto.doubles.isEmpty { present.append(.doubleData) }
    let isExternal = proto.dataLocation == 1
    let fields =
      present.map(\.description) + proto.otherFields
      + (isExternal ? ["external data (data_location 1)"] : [])
    guard fields.count <= 1 else {
      throw .conflictingData(
        source: source, path: path, offset: offset, tensor: name, fields: fields)
    }
    if let field = fields.first, present.first != .rawData, present.first != typedField,
      !isExternal
    {
      throw .wrongDataField(
        source: source, path: path, offset: offset, tensor: name, dataType: dataType, field: field,
        expected: "\(typedField) or raw_data (field 9)")
    }

    func mismatch(_ storage: ONNXTensorStorage, expected: Int, found: Int) -> ONNXError {
      .dataSizeMismatch(
        source: source, path: path, offset: offset, tensor: name, shape: shape, dataType: dataType,
        storage: storage, expected: expected, found: found)
    }
    if isExternal {
      let (data, storage) = try external.read(
        proto.externalData, byteCount: byteCount, for: self, shape: shape, dataType: dataType)
      let value = elements(of: dataType, shape: shape, count: count, in: data.span)
      return ONNXTensor(name: name, dataType: dataType, value: value, storage: storage)
    }
    switch present.first {
    case .rawData?:
      let range = proto.rawData ?? 0..<0
      guard range.count == byteCount else {
        throw mismatch(.rawData, expected: byteCount, found: range.count)
      }
      let value = elements(
        of: dataType, shape: shape, count: count, in: bytes.span.extracting(range))
      return ONNXTensor(name: name, dataType: dataType, value: value, storage: .rawData)
    case let typed?:
      let found =
        switch typed {
        case .floatData: proto.floats.count
        case .int32Data: proto.int32Data.count
        case .int64Data: proto.int64Data.count
        default: proto.doubles.count
        }
      guard found == count else { throw mismatch(typed, expected: count, found: found) }
      let value = typedElements(of: dataType, shape: shape, proto)
      return ONNXTensor(name: name, dataType: dataType, value: value, storage: typed)
    case nil:
      guard count == 0 else { throw mismatch(.rawData, expected: byteCount, found: 0) }
      let value = elements(of: dataType, shape: shape, count: 0, in: [UInt8]().span)
      return ONNXTensor(name: name, dataType: dataType, value: value, storage: .absent)
    }
  }

  /// The shape, element count and byte size of `dims`, each checked.
  private func sizes(
    _ dims: [Int64], itemSize: Int
  ) throws(ONNXError) -> (shape: [Int], count: Int, byteCount: Int) {
    if let index = dims.firstIndex(where: { $0 < 0 }) {
      throw .negativeDimension(
        source: source, path: path, offset: offset, tensor: name, dims: dims, index: index)
    }
    let shape = dims.map { Int($0) }
    guard !shape.contains(0) else { return (shape, 0, 0) }
    var count = 1
    for dimension in shape {
      let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
      guard !overflow else {
        throw .tooManyElements(source: source, path: path, offset: offset, tensor: name, dims: dims)
      }
      count = product
    }
    let (byteCount, overflow) = count.multipliedReportingOverflow(by: itemSize)
    guard !overflow else {
      throw .tooManyElements(source: source, path: path, offset: offset, tensor: name, dims: dims)
    }
    return (shape, count, byteCount)
  }
}

// MARK: - Converting elements

/// The elements of `dataType` stored fixed-width little-endian in `bytes`, converted; the
/// caller has checked that `bytes` holds exactly `count` of them.
///
/// Spans, so that raw data inside the model and external data read into a `Data` are both
/// converted in place, in one bounds-checked pass that the compiler vectorizes.
func elements(
  of dataType: ONNXDataType, shape: [Int], count: Int, in bytes: Span<UInt8>
) -> ONNXTensorValue {
  precondition(bytes.count == count * (dataType.byteSize ?? 0))
  switch dataType {
  case .float: return .float(shape: shape, values: words32(bytes) { Float(bitPattern: $0) })
  case .float16: return .float(shape: shape, values: words16(bytes, floatFromHalf))
  case .bfloat16: return .float(shape: shape, values: words16(bytes, floatFromBFloat16))
  case .double:
    return .float(shape: shape, values: words64(bytes) { Float(Double(bitPattern: $0)) })
  case .int64: return .int64(shape: shape, values: words64(bytes) { Int64(bitPattern: $0) })
  case .int32: return .int32(shape: shape, values: words32(bytes) { Int32(bitPattern: $0) })
  case .int16: return .int32(shape: shape, values: words16(bytes) { Int32(Int16(bitPattern: $0)) })
  case .uint16: return .int32(shape: shape, values: words16(bytes) { Int32($0) })
  case .int8: return .int32(shape: shape, values: words8(bytes) { Int32(Int8(bitPattern: $0)) })
  case .uint8: return .int32(shape: shape, values: words8(bytes) { Int32($0) })
  default:  // .bool; `tensor(from:in:external:)` refuses the rest.
    return .bool(shape: shape, values: words8(bytes) { $0 != 0 })
  }
}

/// Each byte of `bytes`, converted.
@inline(__always)
private func words8<T>(_ bytes: Span<UInt8>, _ convert: (UInt8) -> T) -> [T] {
  var result = [T](repeating: convert(0), count: bytes.count)
  var output = result.mutableSpan
  for index in 0..<bytes.count {
    output[index] = convert(bytes[index])
  }
  _ = consume output
  return result
}

/// Each little-endian `UInt16` of `bytes`, converted.
@inline(__always)
private func words16<T>(_ bytes: Span<UInt8>, _ convert: (UInt16) -> T) -> [T] {
  var result = [T](repeating: convert(0), count: bytes.count / 2)
  var output = result.mutableSpan
  for index in 0..<output.count {
    let offset = 2 * index
    output[index] = convert(UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8)
  }
  _ = consume output
  return result
}

/// Each little-endian `UInt32` of `bytes`, converted: the path most weights take.
@inline(__always)
private func words32<T>(_ bytes: Span<UInt8>, _ convert: (UInt32) -> T) -> [T] {
  var result = [T](repeating: convert(0), count: bytes.count / 4)
  var output = result.mutableSpan
  for index in 0..<output.count {
    let offset = 4 * index
    output[index] = convert(
      UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
        | UInt32(bytes[offset + 3]) << 24)
  }
  _ = consume output
  return result
}

/// Each little-endian `UInt64` of `bytes`, converted.
@inline(__always)
private func words64<T>(_ bytes: Span<UInt8>, _ convert: (UInt64) -> T) -> [T] {
  var result = [T](repeating: convert(0), count: bytes.count / 8)
  var output = result.mutableSpan
  for index in 0..<output.count {
    let offset = 8 * index
    var word: UInt64 = 0
    for byte in 0..<8 {
      word |= UInt64(bytes[offset + byte]) << (8 * byte)
    }
    output[index] = convert(word)
  }
  _ = consume output
  return result
}

/// The elements of a typed field, converted; the caller has checked the count.
///
/// `int32_data` holds each narrower type's value (or float16 bits) in an int32 varint;
/// values out of the type's range keep their low bits, as numpy's `astype` does.
private func typedElements(
  of dataType: ONNXDataType, shape: [Int], _ proto: TensorProtoFields
) -> ONNXTensorValue {
  let ints = proto.int32Data
  switch dataType {
  case .float: return .float(shape: shape, values: proto.floats)
  case .double: return .float(shape: shape, values: proto.doubles)
  case .int64: return .int64(shape: shape, values: proto.int64Data)
  case .float16:
    return .float(shape: shape, values: ints.map { floatFromHalf(UInt16(truncatingIfNeeded: $0)) })
  case .bfloat16:
    return .float(
      shape: shape, values: ints.map { floatFromBFloat16(UInt16(truncatingIfNeeded: $0)) })
  case .int32: return .int32(shape: shape, values: ints.map { Int32(truncatingIfNeeded: $0) })
  case .int16:
    return .int32(shape: shape, values: ints.map { Int32(Int16(truncatingIfNeeded: $0)) })
  case .uint16:
    return .int32(shape: shape, values: ints.map { Int32(UInt16(truncatingIfNeeded: $0)) })
  case .int8:
    return .int32(shape: shape, values: ints.map { Int32(Int8(truncatingIfNeeded: $0)) })
  case .uint8:
    return .int32(shape: shape, values: ints.map { Int32(UInt8(truncatingIfNeeded: $0)) })
  default:  // .bool
    return .bool(shape: shape, values: ints.map { $0 != 0 })
  }
}

/// The float32 equal to a bfloat16 value given by its bits: bfloat16 is the top half of a
/// float32, so every value (NaN payloads included) converts exactly.
func floatFromBFloat16(_ bits: UInt16) -> Float {
  Float(bitPattern: UInt32(bits) << 16)
}
