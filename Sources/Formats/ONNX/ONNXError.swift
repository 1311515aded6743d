/// What can be wrong when an ONNX model is read.
///
/// One case per broken rule. Each message is one line naming the file (or `<memory>`), the
/// byte offset where one applies, the message path inside the model
/// (`ModelProto.graph.node[3].attribute[1]`), what was found and what was expected:
///
///     m.onnx: truncated file at byte 812: expected 432 bytes of raw_data (field 9) of
///     ModelProto.graph.initializer[0], found only 17 before the end of the file
///
/// (printed on one line). A field is named as `name (field N)`, `unknown field N` for one the
/// reader skips, or `a field tag` for the key that precedes every field.
public enum ONNXError: Error, Equatable, Sendable, CustomStringConvertible {
  /// How a varint went wrong.
  public enum VarintProblem: Equatable, Sendable {
    /// The file ends before the varint's last byte (one below 0x80).
    case cutOffByEndOfFile
    /// The enclosing message ends before the varint's last byte.
    case cutOffByEndOfMessage
    /// The enclosing packed repeated field ends before the varint's last byte.
    case cutOffByEndOfPackedField
    /// The varint is longer than 10 bytes, or its 10th byte sets bits beyond 64.
    case overflows64Bits
  }

  // MARK: Files

  /// The model file could not be read; `reason` is the operating system's explanation.
  case unreadable(path: String, reason: String)

  // MARK: Wire format

  /// The file ends inside a field whose payload needs `needed` bytes from `offset`; only
  /// `available` remain.
  case truncated(
    source: String, path: String, field: String, offset: Int, needed: Int, available: Int)
  /// A field's payload at `offset` needs `needed` bytes, more than the `available` ones left
  /// in its enclosing message `path` (whose own length is within the file).
  case lengthBeyondMessage(
    source: String, path: String, field: String, offset: Int, needed: Int, available: Int)
  /// The varint starting at `offset` is cut off or too long. A varint cut off by the end of
  /// the file is a truncated file.
  case badVarint(source: String, path: String, field: String, offset: Int, problem: VarintProblem)
  /// The tag at `offset` has field number 0 or above 2²⁹ − 1, wire type 6 or 7, or is an
  /// end-group tag without its start.
  case invalidTag(source: String, path: String, offset: Int, tag: UInt64)
  /// A field this reader knows was written with another wire type than its definition's.
  case wireTypeMismatch(
    source: String, path: String, field: String, offset: Int, expected: Int, found: Int)
  /// A packed repeated field of fixed-size elements, whose payload starts at `offset`, holds
  /// a length that is not a multiple of the element size.
  case packedLengthMismatch(
    source: String, path: String, field: String, offset: Int, length: Int, elementSize: Int)
  /// The group opened at `offset` has no end-group tag before the end of its message (or of
  /// the file, when `endOfFile`).
  case unclosedGroup(source: String, path: String, field: String, offset: Int, endOfFile: Bool)
  /// Messages (or groups) are nested more than `limit` deep at `offset`.
  case nestingTooDeep(source: String, path: String, offset: Int, limit: Int)

  // MARK: Model structure

  /// The `ModelProto` has no `graph` (field 7).
  case missingGraph(source: String)
  /// The `ModelProto` of IR version `irVersion` (3 or later) imports no operator set.
  case missingOpsetImport(source: String, irVersion: Int)
  /// A field the model uses but this reader does not support (`sparse_initializer`, a
  /// tensor `segment`).
  case unsupportedField(source: String, path: String, field: String, offset: Int)
  /// An attribute has type `UNDEFINED` and not exactly one value field to infer it from.
  /// `offset` is where the `AttributeProto` starts, as for the next case.
  case undefinedAttributeType(source: String, path: String, offset: Int, attribute: String)
  /// An attribute of a single-value `type` lacks that value's field.
  case attributeMissingValue(
    source: String, path: String, offset: Int, attribute: String, type: ONNXAttributeType)

  // MARK: Tensors
  //
  // Each names the tensor by `name` (field 8) and message `path`, with `offset` the byte
  // where its `TensorProto` starts.

  /// A tensor's `data_type` is not one this reader converts.
  case unsupportedDataType(
    source: String, path: String, offset: Int, tensor: String, dataType: ONNXDataType)
  /// Entry `index` of a tensor's `dims` is negative.
  case negativeDimension(
    source: String, path: String, offset: Int, tensor: String, dims: [Int64], index: Int)
  /// A tensor's byte size does not fit in an `Int`.
  case tooManyElements(source: String, path: String, offset: Int, tensor: String, dims: [Int64])
  /// A tensor's data is in more than one of raw_data, the typed fields and external data.
  case conflictingData(
    source: String, path: String, offset: Int, tensor: String, fields: [String])
  /// A tensor's data is in a field that its `data_type` does not use.
  case wrongDataField(
    source: String, path: String, offset: Int, tensor: String, dataType: ONNXDataType,
    field: String, expected: String)
  /// A tensor's data holds `found` units (bytes for raw and external data, values for typed
  /// fields), but its shape and type need exactly `expected`.
  case dataSizeMismatch(
    source: String, path: String, offset: Int, tensor: String, shape: [Int],
    dataType: ONNXDataType, storage: ONNXTensorStorage, expected: Int, found: Int)
  /// A tensor's `data_location` is neither DEFAULT (0) nor EXTERNAL (1).
  case unsupportedDataLocation(
    source: String, path: String, offset: Int, tensor: String, value: Int)

  // MARK: External data

  /// A tensor stored in an external file was decoded without a directory to find it in.
  case externalDataWithoutDirectory(
    source: String, path: String, offset: Int, tensor: String, location: String)
  /// An external tensor's `external_data` lacks `key` ("location").
  case externalDataKeyMissing(
    source: String, path: String, offset: Int, tensor: String, key: String)
  /// An external tensor's `offset` or `length` is not a decimal integer in `0...Int.max`.
  case badExternalDataValue(
    source: String, path: String, offset: Int, tensor: String, key: String, value: String)
  /// An external tensor's `location` is empty, absolute, has a `..` component, or resolves
  /// (through symbolic links) outside the model's directory.
  case externalDataEscapesDirectory(
    source: String, path: String, offset: Int, tensor: String, location: String)
  /// The external `file` could not be read; `reason` is the operating system's explanation.
  case externalDataUnreadable(
    source: String, path: String, offset: Int, tensor: String, file: String, reason: String)
  /// The external range from byte `start`, `length` bytes long (to the end of the file when
  /// nil), does not lie within the file's `fileSize` bytes.
  case externalDataOutOfRange(
    source: String, path: String, offset: Int, tensor: String, file: String, start: Int,
    length: Int?, fileSize: Int)
  /// Reading the tensor's `bytes` of external data and decoding them would take about
  /// `needed` bytes of memory, more than the process can allocate (`MemoryBudget`).
  case externalDataTooLargeForMemory(
    source: String, path: String, offset: Int, tensor: String, file: String, bytes: Int,
    needed: Int, available: Int)

  /// The message: the file, what was found, the byte offset where one applies, and what
  /// was expected there.
  public var description: String {
    switch self {
    case let .unreadable(path, reason):
      return "\(path): cannot read the file: \(reason)"

    case let .truncated(source, path, field, offset, needed, available):
      return "\(source): truncated file at byte \(offset): expected \(needed) bytes of "
        + "\(field) of \(path), found only \(available) before the end of the file"
    case let .lengthBeyondMessage(source, path, field, offset, needed, available):
      return "\(source): length beyond the end of \(path) at byte \(offset): expected "
        + "\(needed) bytes of \(field), found only \(available) before the end of the message"
    case let .badVarint(source, path, field, offset, problem):
      let found =
        switch problem {
        case .cutOffByEndOfFile: "the end of the file before its last byte"
        case .cutOffByEndOfMessage: "the end of the message before its last byte"
        case .cutOffByEndOfPackedField: "the end of the packed field before its last byte"
        case .overflows64Bits: "more than 64 bits"
        }
      let kind = problem == .cutOffByEndOfFile ? "truncated file" : "bad varint"
      return "\(source): \(kind) at byte \(offset): expected a varint of at most 10 bytes "
        + "(64 bits) for \(field) of \(path), found \(found)"
    case let .invalidTag(source, path, offset, tag):
      return "\(source): invalid field tag \(tag) at byte \(offset) in \(path): field "
        + "\(tag >> 3), wire type \(tag & 7): expected a field number from 1 to 536870911 "
        + "and wire type 0, 1, 2, 3 or 5 (4 only to close a group)"
    case let .wireTypeMismatch(source, path, field, offset, expected, found):
      return "\(source): wire type mismatch at byte \(offset): expected \(field) of \(path) "
        + "to have wire type \(wireTypeName(expected)), found \(wireTypeName(found))"
    case let .packedLengthMismatch(source, path, field, offset, length, elementSize):
      return "\(source): bad packed length at byte \(offset): expected a multiple of "
        + "\(elementSize) bytes for \(field) of \(path), found \(length)"
    case let .unclosedGroup(source, path, field, offset, endOfFile):
      return "\(source): unclosed group at byte \(offset): expected an end-group tag for "
        + "\(field) of \(path), found the end of the \(endOfFile ? "file" : "message")"
    case let .nestingTooDeep(source, path, offset, limit):
      return "\(source): nesting too deep at byte \(offset) in \(path): expected at most "
        + "\(limit) nested messages and groups"

    case let .missingGraph(source):
      return "\(source): ModelProto has no graph (field 7): expected a model with a graph"
    case let .missingOpsetImport(source, irVersion):
      return "\(source): ModelProto of IR version \(irVersion) has no opset_import "
        + "(field 8): expected at least one operator set, as IR version 3 and later require"
    case let .unsupportedField(source, path, field, offset):
      return "\(source): unsupported field at byte \(offset): \(field) of \(path) is not "
        + "supported: expected a model without it"
    case let .undefinedAttributeType(source, path, offset, attribute):
      return "\(source): attribute '\(printable(attribute))' (\(path) at byte \(offset)) has "
        + "type UNDEFINED: "
        + "expected a type (field 20) or exactly one value field to infer it from"
    case let .attributeMissingValue(source, path, offset, attribute, type):
      return "\(source): attribute '\(printable(attribute))' (\(path) at byte \(offset)) has "
        + "type \(type) "
        + "but no value: expected its field \(type.valueField)"

    case let .unsupportedDataType(source, path, offset, tensor, dataType):
      return "\(source): unsupported data type \(dataType) for "
        + "\(described(tensor, path, offset)): expected \(ONNXDataType.supportedNames)"
    case let .negativeDimension(source, path, offset, tensor, dims, index):
      return "\(source): \(described(tensor, path, offset)) has dims \(dims) with "
        + "\(dims[index]) at index \(index): expected non-negative sizes"
    case let .tooManyElements(source, path, offset, tensor, dims):
      return "\(source): \(described(tensor, path, offset)) has dims \(dims), whose byte "
        + "size overflows a 64-bit integer: expected at most \(Int.max) bytes"
    case let .conflictingData(source, path, offset, tensor, fields):
      return "\(source): \(described(tensor, path, offset)) stores data in "
        + "\(fields.joined(separator: " and ")): expected exactly one of them"
    case let .wrongDataField(source, path, offset, tensor, dataType, field, expected):
      return "\(source): \(described(tensor, path, offset)) of type \(dataType) stores "
        + "data in \(field): expected \(expected)"
    case let .dataSizeMismatch(
      source, path, offset, tensor, shape, dataType, storage, expected, found):
      let unit = storage.holdsBytes ? "bytes" : "values"
      return "\(source): \(described(tensor, path, offset)) has shape \(shape) of "
        + "\(dataType), but its \(storage) holds \(found) \(unit): expected exactly "
        + "\(expected)"
    case let .unsupportedDataLocation(source, path, offset, tensor, value):
      return "\(source): \(described(tensor, path, offset)) has data_location \(value): "
        + "expected 0 (DEFAULT) or 1 (EXTERNAL)"

    case let .externalDataWithoutDirectory(source, path, offset, tensor, location):
      return "\(source): \(described(tensor, path, offset)) is stored in external file "
        + "'\(printable(location))', but the model was decoded without a directory: "
        + "expected ONNX.load(contentsOf:), or the model's directory for decode"
    case let .externalDataKeyMissing(source, path, offset, tensor, key):
      return "\(source): \(described(tensor, path, offset)) has data_location EXTERNAL but "
        + "no '\(key)' in external_data: expected the key"
    case let .badExternalDataValue(source, path, offset, tensor, key, value):
      return "\(source): \(described(tensor, path, offset)) has external_data '\(key)' = "
        + "'\(printable(value))': expected a non-negative decimal integer"
    case let .externalDataEscapesDirectory(source, path, offset, tensor, location):
      return "\(source): \(described(tensor, path, offset)) has external location "
        + "'\(printable(location))': expected a relative path inside the model's "
        + "directory, without '..'"
    case let .externalDataUnreadable(source, path, offset, tensor, file, reason):
      return "\(source): \(described(tensor, path, offset)): cannot read external file "
        + "\(printable(file)): \(reason)"
    case let .externalDataTooLargeForMemory(
      source, path, offset, tensor, file, bytes, needed, available):
      return "\(source): \(described(tensor, path, offset)) reads "
        + "\(MemoryBudget.describe(bytes)) of external file \(printable(file)); reading and "
        + "decoding them needs about \(MemoryBudget.describe(needed)) of memory, "
        + MemoryBudget.refusal(available: available)
    case let .externalDataOutOfRange(source, path, offset, tensor, file, start, length, size):
      // An end past Int.max is written as an offset and a length, not a wrapped number.
      let range =
        length.map { length in
          let (end, overflow) = start.addingReportingOverflow(length)
          return overflow ? "\(length) bytes from byte \(start)" : "bytes \(start)..<\(end)"
        } ?? "bytes from \(start) to the end"
      return "\(source): \(described(tensor, path, offset)) reads \(range) of external "
        + "file \(printable(file)), which holds \(size) bytes: expected a range within "
        + "the file"
    }
  }
}

/// "2 (length-delimited)" and so on.
func wireTypeName(_ wireType: Int) -> String {
  switch wireType {
  case 0: "0 (varint)"
  case 1: "1 (64-bit)"
  case 2: "2 (length-delimited)"
  case 3: "3 (start group)"
  case 4: "4 (end group)"
  case 5: "5 (32-bit)"
  default: "\(wireType)"
  }
}

/// Text from the file, for a message: control characters escaped and shortened past 200
/// characters (see `quoted`), so that a hostile name cannot break the one-line message.
func printable(_ text: String) -> String {
  text.isEmpty ? "" : quoted(text)
}

/// `tensor 'conv.weight' (ModelProto.graph.initializer[0] at byte 812)`.
private func described(_ tensor: String, _ path: String, _ offset: Int) -> String {
  "tensor '\(printable(tensor))' (\(path) at byte \(offset))"
}
