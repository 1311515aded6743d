/// The protobuf wire format, read field by field from one message inside a shared buffer.
///
/// A message is a sequence of fields, each a tag — the varint `number << 3 | wireType` —
/// followed by its payload: a varint (wire type 0), 8 little-endian bytes (1), a varint
/// length and that many bytes (2: strings, bytes, sub-messages, packed repeated scalars),
/// or 4 bytes (5). Wire types 3 and 4 open and close a deprecated group, which is skipped.
///
/// A reader covers `position..<end` of `bytes`, the whole file; a sub-message's reader
/// shares the buffer (no copy) with a narrower range. Every length is checked against the
/// bytes left in the enclosing message before use, so corrupt input throws an `ONNXError`
/// naming the message path, the field and the byte offset, and never traps or allocates
/// more than the input's size.
///
///     var reader = ProtobufReader(bytes, source: "m.onnx", message: "ModelProto")
///     while let field = try reader.next() {
///       switch field.number {
///       case 1: irVersion = Int(try reader.int64(field, "ir_version"))
///       default: try reader.skip(field)
///       }
///     }
struct ProtobufReader {
  /// How a field's payload is encoded.
  enum WireType: Int {
    case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4
    case fixed32 = 5
  }

  /// A field's tag: its number, how its payload is encoded, and where the tag starts.
  struct Field {
    var number: Int
    var wireType: WireType
    var offset: Int
  }

  /// Messages and groups nest at most this deep, as in Google's protobuf parsers.
  static let nestingLimit = 100

  /// The whole file: shared, never copied.
  let bytes: [UInt8]
  /// The name used in messages: the file's path or `<memory>`.
  let source: String
  /// The message being read, from the root: `ModelProto.graph.node[3]`.
  let path: String
  /// How many messages enclose this one (the root has 0).
  let depth: Int
  /// The start of this message in `bytes`: where its first field's tag is.
  let start: Int
  /// The end of this message in `bytes`.
  let end: Int
  /// The next byte to read.
  private(set) var position: Int

  /// A reader over all of `bytes`, the root message called `message`.
  init(_ bytes: [UInt8], source: String, message: String) {
    self.init(bytes, source: source, path: message, depth: 0, range: bytes.indices)
  }

  private init(_ bytes: [UInt8], source: String, path: String, depth: Int, range: Range<Int>) {
    self.bytes = bytes
    self.source = source
    self.path = path
    self.depth = depth
    self.start = range.lowerBound
    self.position = range.lowerBound
    self.end = range.upperBound
  }

  // MARK: - Tags

  /// The next field's tag, or nil at the end of the message.
  ///
  /// - Throws: `badVarint` for a broken tag; `invalidTag` for field number 0 or above
  ///   2²⁹ − 1, wire type 6 or 7, or an end-group tag outside a group.
  mutating func next() throws(ONNXError) -> Field? {
    guard position < end else { return nil }
    let offset = position
    let tag = try varint("a field tag")
    guard let field = Self.field(tag: tag, offset: offset), field.wireType != .endGroup else {
      throw .invalidTag(source: source, path: path, offset: offset, tag: tag)
    }
    return field
  }

  private static func field(tag: UInt64, offset: Int) -> Field? {
    let number = tag >> 3
    guard (1...0x1FFF_FFFF).contains(number), let wireType = WireType(rawValue: Int(tag & 7))
    else { return nil }
    return Field(number: Int(number), wireType: wireType, offset: offset)
  }

  // MARK: - Scalars

  /// A varint field as a two's-complement `Int64` (`int64`, `int32` and enums).
  mutating func int64(_ field: Field, _ name: String) throws(ONNXError) -> Int64 {
    try expect(field, .varint, name)
    return Int64(bitPattern: try varint(Self.describe(field, name)))
  }

  /// An `int32` or enum field. Negative values are written as 10-byte varints; values that
  /// do not fit keep their low 32 bits, as protobuf's parsers do.
  mutating func int32(_ field: Field, _ name: String) throws(ONNXError) -> Int32 {
    Int32(truncatingIfNeeded: try int64(field, name))
  }

  /// A `float` field: 4 little-endian bytes.
  mutating func float(_ field: Field, _ name: String) throws(ONNXError) -> Float {
    try expect(field, .fixed32, name)
    let start = try advance(by: 4, field, name)
    return Float(bitPattern: littleEndianUInt32(bytes.span, start))
  }

  /// A length-delimited field's payload, as a range of `bytes`.
  mutating func lengthDelimited(_ field: Field, _ name: String) throws(ONNXError) -> Range<Int> {
    try expect(field, .lengthDelimited, name)
    return try payload(field, name)
  }

  /// A `string` (or `bytes` holding text) field, decoded as UTF-8; invalid sequences become
  /// U+FFFD, as `onnx` itself does not validate them.
  mutating func string(_ field: Field, _ name: String) throws(ONNXError) -> String {
    String(decoding: bytes[try lengthDelimited(field, name)], as: UTF8.self)
  }

  /// A sub-message field: a reader over its payload that shares the buffer, one level
  /// deeper, at path `self.path + "." + name` (with `[index]` for repeated fields).
  ///
  /// - Throws: as `lengthDelimited`, and `nestingTooDeep` past `nestingLimit` levels.
  mutating func message(
    _ field: Field, _ name: String, index: Int? = nil
  ) throws(ONNXError) -> ProtobufReader {
    let range = try lengthDelimited(field, name)
    let childPath = path + "." + name + (index.map { "[\($0)]" } ?? "")
    guard depth < Self.nestingLimit else {
      throw .nestingTooDeep(
        source: source, path: childPath, offset: field.offset, limit: Self.nestingLimit)
    }
    return ProtobufReader(bytes, source: source, path: childPath, depth: depth + 1, range: range)
  }

  // MARK: - Repeated scalars

  /// Appends a repeated varint field's values to `values`: one value (unpacked, wire type 0)
  /// or all the varints of a packed payload (wire type 2); writers may use either.
  mutating func appendInt64s(
    _ field: Field, _ name: String, to values: inout [Int64]
  ) throws(ONNXError) {
    guard field.wireType == .lengthDelimited else {
      values.append(try int64(field, name))
      return
    }
    let range = try payload(field, name)
    var packed = ProtobufReader(bytes, source: source, path: path, depth: depth, range: range)
    let description = Self.describe(field, name)
    values.reserveCapacity(values.count + min(range.count, 1 << 20))
    while packed.position < packed.end {
      values.append(Int64(bitPattern: try packed.varint(description, packedField: true)))
    }
  }

  /// Appends a repeated `float` field's values to `values`: one value (unpacked, wire
  /// type 5) or a packed payload (wire type 2).
  mutating func appendFloats(
    _ field: Field, _ name: String, to values: inout [Float]
  ) throws(ONNXError) {
    try appendFixed(field, name, size: 4, wireType: .fixed32, to: &values) { bytes, offset in
      Float(bitPattern: littleEndianUInt32(bytes, offset))
    }
  }

  /// Appends a repeated `double` field's values to `values`, rounded to `Float`.
  mutating func appendDoublesAsFloats(
    _ field: Field, _ name: String, to values: inout [Float]
  ) throws(ONNXError) {
    try appendFixed(field, name, size: 8, wireType: .fixed64, to: &values) { bytes, offset in
      Float(Double(bitPattern: littleEndianUInt64(bytes, offset)))
    }
  }

  private mutating func appendFixed<T>(
    _ field: Field, _ name: String, size: Int, wireType: WireType, to values: inout [T],
    _ load: (borrowing Span<UInt8>, Int) -> T
  ) throws(ONNXError) {
    if field.wireType == wireType {
      let start = try advance(by: size, field, name)
      values.append(load(bytes.span.extracting(start..<start + size), 0))
      return
    }
    try expect(field, .lengthDelimited, name, orElse: wireType)
    let range = try payload(field, name)
    guard range.count % size == 0 else {
      throw .packedLengthMismatch(
        source: source, path: path, field: Self.describe(field, name),
        offset: range.lowerBound, length: range.count, elementSize: size)
    }
    values.reserveCapacity(values.count + range.count / size)
    let payload = bytes.span.extracting(range)
    for offset in stride(from: 0, to: payload.count, by: size) {
      values.append(load(payload, offset))
    }
  }

  // MARK: - Skipping

  /// Skips a field this reader does not use, whatever its wire type; a group is skipped
  /// through its matching end-group tag, counting toward the nesting limit.
  mutating func skip(_ field: Field) throws(ONNXError) {
    switch field.wireType {
    case .varint: _ = try varint(Self.describe(field, nil))
    case .fixed64: _ = try advance(by: 8, field, nil)
    case .fixed32: _ = try advance(by: 4, field, nil)
    case .lengthDelimited: _ = try payload(field, nil)
    case .startGroup: try skipGroup(field, depth: depth + 1)
    case .endGroup: throw .invalidTag(source: source, path: path, offset: field.offset,
                                      tag: UInt64(field.number << 3 | 4))
    }
  }

  private mutating func skipGroup(_ group: Field, depth: Int) throws(ONNXError) {
    guard depth <= Self.nestingLimit else {
      throw .nestingTooDeep(
        source: source, path: path, offset: group.offset, limit: Self.nestingLimit)
    }
    while position < end {
      let offset = position
      let tag = try varint("a field tag")
      guard let field = Self.field(tag: tag, offset: offset) else {
        throw .invalidTag(source: source, path: path, offset: offset, tag: tag)
      }
      switch field.wireType {
      case .endGroup:
        guard field.number == group.number else {
          throw .invalidTag(source: source, path: path, offset: offset, tag: tag)
        }
        return
      case .startGroup: try skipGroup(field, depth: depth + 1)
      default: try skip(field)
      }
    }
    throw .unclosedGroup(
      source: source, path: path, field: Self.describe(group, nil), offset: group.offset,
      endOfFile: end == bytes.count)
  }

  // MARK: - Primitives

  /// The varint at `position`; advances past it. Errors give the varint's first byte.
  private mutating func varint(
    _ field: @autoclosure () -> String, packedField: Bool = false
  ) throws(ONNXError) -> UInt64 {
    let start = position
    var result: UInt64 = 0
    var shift: UInt64 = 0
    while position < end {
      let byte = bytes[position]
      position += 1
      // The 10th byte holds bit 63 only; anything more overflows 64 bits.
      guard shift < 63 || byte <= 1 else {
        throw .badVarint(
          source: source, path: path, field: field(), offset: start, problem: .overflows64Bits)
      }
      result |= UInt64(byte & 0x7F) << shift
      if byte < 0x80 { return result }
      shift += 7
    }
    let problem: ONNXError.VarintProblem =
      packedField ? .cutOffByEndOfPackedField
      : end == bytes.count ? .cutOffByEndOfFile : .cutOffByEndOfMessage
    throw .badVarint(source: source, path: path, field: field(), offset: start, problem: problem)
  }

  /// A length-delimited payload's range, after checking that it lies within the message.
  private mutating func payload(_ field: Field, _ name: String?) throws(ONNXError) -> Range<Int> {
    let declared = try varint(Self.describe(field, name))
    let length = declared > UInt64(Int.max) ? Int.max : Int(declared)
    let start = try advance(by: length, field, name)
    return start..<position
  }

  /// Moves past `count` bytes of `field`'s payload, returning where they start. Errors
  /// give that start.
  private mutating func advance(
    by count: Int, _ field: Field, _ name: String?
  ) throws(ONNXError) -> Int {
    let available = end - position
    guard count <= available else {
      let description = Self.describe(field, name)
      if end == bytes.count {
        throw .truncated(
          source: source, path: path, field: description, offset: position, needed: count,
          available: available)
      }
      throw .lengthBeyondMessage(
        source: source, path: path, field: description, offset: position, needed: count,
        available: available)
    }
    let start = position
    position += count
    return start
  }

  private func expect(
    _ field: Field, _ wireType: WireType, _ name: String, orElse other: WireType? = nil
  ) throws(ONNXError) {
    guard field.wireType != wireType else { return }
    throw .wireTypeMismatch(
      source: source, path: path, field: Self.describe(field, name), offset: field.offset,
      expected: (other ?? wireType).rawValue, found: field.wireType.rawValue)
  }

  /// `raw_data (field 9)`, or `unknown field 99` for a field the reader skips.
  static func describe(_ field: Field, _ name: String?) -> String {
    name.map { "\($0) (field \(field.number))" } ?? "unknown field \(field.number)"
  }
}

// MARK: - Little-endian loads

/// The little-endian `UInt32` in the 4 bytes at `offset`; the caller checked they exist.
@inline(__always)
func littleEndianUInt32(_ bytes: borrowing Span<UInt8>, _ offset: Int) -> UInt32 {
  UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
    | UInt32(bytes[offset + 3]) << 24
}

/// The little-endian `UInt64` in the 8 bytes at `offset`; the caller checked they exist.
@inline(__always)
func littleEndianUInt64(_ bytes: borrowing Span<UInt8>, _ offset: Int) -> UInt64 {
  UInt64(littleEndianUInt32(bytes, offset)) | UInt64(littleEndianUInt32(bytes, offset + 4)) << 32
}
