/// What can be wrong when a tensor is read from or written to a file.
///
/// One case per broken rule. Each message names the file (or `<memory>` for bytes decoded
/// directly), what was found there, the byte offset where one applies, and what was
/// expected, in that order:
///
///     x.npy: bad magic at byte 0: expected \x93NUMPY, found PK\x03\x04\x14\x00
public enum FormatError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The file could not be read; `reason` is the operating system's explanation.
  case unreadable(path: String, reason: String)
  /// The file could not be written; `reason` is the operating system's explanation.
  case unwritable(path: String, reason: String)
  /// The first six bytes (`found`, fewer when the file is shorter) are not `\x93NUMPY`.
  case badMagic(source: String, found: [UInt8])
  /// The format version at byte 6 is not 1.0, 2.0 or 3.0.
  case unsupportedVersion(source: String, major: Int, minor: Int)
  /// The file ends inside the preamble: `field` ("format version", "header length" or
  /// "header text") needs `expected` bytes at `offset`, but only `available` remain.
  case truncatedHeader(source: String, field: String, offset: Int, expected: Int, available: Int)
  /// The header holds `byte` at `offset`, which is not valid text for the format `version`
  /// (its major number): ASCII for 1 and 2, UTF-8 for 3.
  case invalidHeaderText(source: String, version: Int, offset: Int, byte: UInt8)
  /// The header is not a Python dict literal: at `offset` the parser found `found` (a quoted
  /// character or "the end of the header") where it expected `expected`.
  case malformedHeader(
    source: String, header: String, offset: Int, expected: String, found: String)
  /// The header dict has no entry for `key` ("descr", "fortran_order" or "shape").
  case missingHeaderKey(source: String, header: String, key: String)
  /// The header dict has a key other than the three `.npy` keys; `key` as written.
  case unexpectedHeaderKey(source: String, header: String, key: String)
  /// The header dict names `key` (as written) more than once.
  case duplicateHeaderKey(source: String, header: String, key: String)
  /// The header gives `key` a value (`found`, as written) of the wrong kind.
  case badHeaderValue(source: String, header: String, key: String, found: String, expected: String)
  /// The header's `descr` (as written) is not a float16, float32 or float64 dtype.
  case unsupportedDType(source: String, descr: String)
  /// Entry `index` of the header's shape (both as written) is not an integer in
  /// `0...Int.max`.
  case badShapeEntry(source: String, shape: String, index: Int, entry: String)
  /// The byte size of `shape` with `itemSize`-byte elements does not fit in an `Int`.
  case tooManyElements(source: String, shape: [Int], itemSize: Int)
  /// The data after the header at `dataOffset` is `actualBytes` long, but `shape` with
  /// `itemSize`-byte elements needs exactly `expectedBytes`: fewer is a truncated file,
  /// more is trailing garbage, and both are refused.
  case dataSizeMismatch(
    source: String, shape: [Int], itemSize: Int, dataOffset: Int, expectedBytes: Int,
    actualBytes: Int)
  /// Reading the file's `bytes` and decoding them would take about `needed` bytes of memory,
  /// more than the process can allocate (`MemoryBudget`).
  case tooLargeForMemory(source: String, bytes: Int, needed: Int, available: Int)

  /// The message: the file, what was found, the byte offset where one applies, and what
  /// was expected there.
  public var description: String {
    switch self {
    case let .unreadable(path, reason):
      return "\(path): cannot read the file: \(reason)"
    case let .unwritable(path, reason):
      return "\(path): cannot write the file: \(reason)"
    case let .badMagic(source, found):
      let shown =
        switch found.count {
        case 0: "an empty file"
        case ..<NPY.magic.count: "only \(found.count) bytes, \(escaped(found))"
        default: escaped(found)
        }
      return "\(source): bad magic at byte 0: expected \(escaped(NPY.magic)), found \(shown)"
    case let .unsupportedVersion(source, major, minor):
      return "\(source): unsupported format version \(major).\(minor) at byte 6: "
        + "expected 1.0, 2.0 or 3.0"
    case let .truncatedHeader(source, field, offset, expected, available):
      return "\(source): truncated header at byte \(offset): expected \(expected) bytes of "
        + "\(field), found only \(available) before the end of the file"
    case let .invalidHeaderText(source, version, offset, byte):
      let encoding = version >= 3 ? "UTF-8" : "ASCII"
      return "\(source): header is not valid \(encoding) at byte \(offset): found byte "
        + "\(escaped([byte])), but format version \(version).0 headers must be \(encoding)"
    case let .malformedHeader(source, header, offset, expected, found):
      return "\(source): malformed header at byte \(offset): expected \(expected), "
        + "found \(found), in header \(quoted(header))"
    case let .missingHeaderKey(source, header, key):
      return "\(source): header \(quoted(header)) lacks key '\(key)': expected the keys "
        + "'descr', 'fortran_order' and 'shape'"
    case let .unexpectedHeaderKey(source, header, key):
      return "\(source): header \(quoted(header)) has unexpected key \(key): expected only "
        + "the keys 'descr', 'fortran_order' and 'shape'"
    case let .duplicateHeaderKey(source, header, key):
      return "\(source): header \(quoted(header)) repeats key \(key): expected each key once"
    case let .badHeaderValue(source, header, key, found, expected):
      return "\(source): header \(quoted(header)) gives '\(key)' the value \(found): "
        + "expected \(expected)"
    case let .unsupportedDType(source, descr):
      return "\(source): unsupported dtype \(descr): expected one of '<f4', '<f8', '<f2', "
        + "'>f4', '>f8', '>f2' ('=' or '|' for this machine's byte order)"
    case let .badShapeEntry(source, shape, index, entry):
      return "\(source): bad entry \(entry) at index \(index) of shape \(shape): "
        + "expected a non-negative integer that fits in 64 bits"
    case let .tooManyElements(source, shape, itemSize):
      return "\(source): header declares shape \(pythonTuple(shape)) of "
        + "\(elementName(itemSize)) values, whose size overflows a 64-bit integer: "
        + "expected at most \(Int.max) bytes of data"
    case let .dataSizeMismatch(source, shape, itemSize, dataOffset, expectedBytes, actualBytes):
      let count = itemSize > 0 ? expectedBytes / itemSize : 0
      let declared =
        "\(source): header declares shape \(pythonTuple(shape)) = \(count) "
        + "\(elementName(itemSize)) values (\(expectedBytes) bytes)"
      if actualBytes < expectedBytes {
        return declared + ", but the file holds only \(actualBytes) bytes of data from byte "
          + "\(dataOffset): expected exactly \(expectedBytes)"
      }
      return declared + ", but the file holds \(actualBytes) bytes of data from byte "
        + "\(dataOffset): expected exactly \(expectedBytes); trailing bytes after the array "
        + "are refused"
    case let .tooLargeForMemory(source, bytes, needed, available):
      return "\(source): reading its \(MemoryBudget.describe(bytes)) and decoding them needs "
        + "about \(MemoryBudget.describe(needed)) of memory, "
        + MemoryBudget.refusal(available: available)
    }
  }
}

// MARK: - Message helpers

/// A shape as Python prints a tuple: `()`, `(5,)`, `(2, 3)`.
func pythonTuple(_ shape: [Int]) -> String {
  shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
}

/// Bytes as a Python bytes literal shows them, without the quotes: `\x93NUMPY`.
func escaped(_ bytes: [UInt8]) -> String {
  var text = ""
  for byte in bytes {
    switch byte {
    case UInt8(ascii: "\\"): text += "\\\\"
    case 0x20...0x7E: text.unicodeScalars.append(Unicode.Scalar(byte))
    default: text += "\\x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16)
    }
  }
  return text
}

/// A header for a message: control characters escaped, trailing padding dropped, and
/// shortened past 200 characters so a hostile header cannot flood a log.
func quoted(_ header: String) -> String {
  guard !header.isEmpty else { return "(empty)" }
  let limit = 200
  var text = ""
  for (index, character) in header.enumerated() {
    guard index < limit else {
      return text + "... (\(header.count - limit) more characters)"
    }
    switch character {
    case "\n": text += "\\n"
    case "\r\n": text += "\\r\\n"
    case "\r": text += "\\r"
    case "\t": text += "\\t"
    default:
      if let ascii = character.asciiValue, ascii < 0x20 || ascii == 0x7F {
        text += escaped([ascii])
      } else {
        text.append(character)
      }
    }
  }
  return text
}

/// "float32" for 4-byte elements, and so on.
func elementName(_ itemSize: Int) -> String {
  [2, 4, 8].contains(itemSize) ? "float\(itemSize * 8)" : "\(itemSize)-byte"
}
