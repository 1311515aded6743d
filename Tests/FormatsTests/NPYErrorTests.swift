import Foundation
import Formats
import Tensors
import Testing

/// Checks that decoding `bytes` as `x.npy` throws exactly `error`, whose message is `message`.
func expectDecodeError(
  _ bytes: [UInt8], _ error: FormatError, _ message: String,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  #expect(throws: error, sourceLocation: sourceLocation) {
    try NPY.decode(bytes, source: "x.npy")
  }
  #expect(error.description == message, sourceLocation: sourceLocation)
}

/// The magic and a format version.
func preamble(_ major: UInt8, _ minor: UInt8 = 0) -> [UInt8] {
  [0x93] + Array("NUMPY".utf8) + [major, minor]
}

/// A valid numpy header for a float32 array of shape (2, 3); its data starts at byte 128.
let header2x3 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"

// MARK: - Preamble

@Suite struct NPYPreambleErrorTests {
  @Test func magicMustBeNumpy() {
    expectDecodeError(
      [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A],
      .badMagic(source: "x.npy", found: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A]),
      #"x.npy: bad magic at byte 0: expected \x93NUMPY, found \x89PNG\x0d\x0a"#)
  }

  @Test func fileShorterThanMagicThrows() {
    expectDecodeError(
      [0x93, 0x4E, 0x55], .badMagic(source: "x.npy", found: [0x93, 0x4E, 0x55]),
      #"x.npy: bad magic at byte 0: expected \x93NUMPY, found only 3 bytes, \x93NU"#)
    expectDecodeError(
      [], .badMagic(source: "x.npy", found: []),
      #"x.npy: bad magic at byte 0: expected \x93NUMPY, found an empty file"#)
  }

  @Test(arguments: [(4, 0), (1, 1), (0, 0)])
  func versionMustBeKnown(major: UInt8, minor: UInt8) {
    expectDecodeError(
      preamble(major, minor) + [118, 0],
      .unsupportedVersion(source: "x.npy", major: Int(major), minor: Int(minor)),
      "x.npy: unsupported format version \(major).\(minor) at byte 6: expected 1.0, 2.0 or 3.0")
  }

  @Test func versionMustBeComplete() {
    expectDecodeError(
      preamble(1).dropLast(),
      .truncatedHeader(
        source: "x.npy", field: "format version", offset: 6, expected: 2, available: 1),
      "x.npy: truncated header at byte 6: expected 2 bytes of format version, "
        + "found only 1 before the end of the file")
  }

  @Test(arguments: [(1, 2), (2, 4), (3, 4)])
  func headerLengthMustBeComplete(major: UInt8, lengthSize: Int) {
    expectDecodeError(
      preamble(major) + [118],
      .truncatedHeader(
        source: "x.npy", field: "header length", offset: 8, expected: lengthSize, available: 1),
      "x.npy: truncated header at byte 8: expected \(lengthSize) bytes of header length, "
        + "found only 1 before the end of the file")
  }

  @Test func headerMustBeAsLongAsDeclared() {
    expectDecodeError(
      preamble(1) + [118, 0] + Array(header2x3.utf8.prefix(20)),
      .truncatedHeader(
        source: "x.npy", field: "header text", offset: 10, expected: 118, available: 20),
      "x.npy: truncated header at byte 10: expected 118 bytes of header text, "
        + "found only 20 before the end of the file")
    // A 4-byte length near 4 GiB on a tiny file throws rather than allocating.
    expectDecodeError(
      preamble(2) + [0xFF, 0xFF, 0xFF, 0xFF, 0x7B],
      .truncatedHeader(
        source: "x.npy", field: "header text", offset: 12, expected: 4_294_967_295,
        available: 1),
      "x.npy: truncated header at byte 12: expected 4294967295 bytes of header text, "
        + "found only 1 before the end of the file")
  }

  @Test(arguments: [(UInt8(1), 21), (2, 23)])
  func headerOfVersion1And2MustBeASCII(version: UInt8, offset: Int) {
    let header = Array("{'descr': '".utf8) + [0xE9] + Array("', 'shape': (), }".utf8)
    expectDecodeError(
      npyFile(headerBytes: header, version: version),
      .invalidHeaderText(source: "x.npy", version: Int(version), offset: offset, byte: 0xE9),
      "x.npy: header is not valid ASCII at byte \(offset): found byte \\xe9, "
        + "but format version \(version).0 headers must be ASCII")
  }

  @Test(arguments: [[0xFF] as [UInt8], [0xC3, 0x27], [0xED, 0xA0, 0x80]])
  func headerOfVersion3MustBeUTF8(badBytes: [UInt8]) {
    let header = Array("{'descr': '".utf8) + badBytes + Array("', 'shape': (), }".utf8)
    let hex = String(badBytes[0], radix: 16)
    expectDecodeError(
      npyFile(headerBytes: header, version: 3),
      .invalidHeaderText(source: "x.npy", version: 3, offset: 23, byte: badBytes[0]),
      "x.npy: header is not valid UTF-8 at byte 23: found byte \\x\(hex), "
        + "but format version 3.0 headers must be UTF-8")
  }
}

// MARK: - Header dict

@Suite struct NPYHeaderErrorTests {
  @Test(arguments: [
    // The header, the file offset of the fault, what was expected there, what was found.
    ("{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3), }", 26, "',' or '}'", #""'""#),
    ("[1, 2]", 10, "'{'", "'['"),
    ("", 64, "'{'", "the end of the header"),
    ("{'descr' '<f4'}", 19, "':'", #""'""#),
    ("{'descr': '<f4", 64, #"a closing "'""#, "the end of the header"),
    ("{'descr': '<f4', 'shape': (2, 3]}", 41, "',' or ')'", "']'"),
    ("{'descr': , }", 20, "a value", "','"),
    (header2x3 + " x", 70, "the end of the header", "'x'"),
    ("{'shape': " + String(repeating: "(", count: 20), 35,
     "brackets nested at most 16 deep", "'('"),
  ])
  func headerMustBeADictLiteral(header: String, offset: Int, expected: String, found: String) {
    let shown = header.isEmpty ? "(empty)" : header
    expectDecodeError(
      npyFile(header: header),
      .malformedHeader(
        source: "x.npy", header: header, offset: offset, expected: expected, found: found),
      "x.npy: malformed header at byte \(offset): expected \(expected), found \(found), "
        + "in header \(shown)")
  }

  @Test func headerMustNameEveryKey() {
    let header = "{'descr': '<f4', 'shape': (2, 3), }"
    expectDecodeError(
      npyFile(header: header, data: littleEndianBytes(arange(6))),
      .missingHeaderKey(source: "x.npy", header: header, key: "fortran_order"),
      "x.npy: header \(header) lacks key 'fortran_order': "
        + "expected the keys 'descr', 'fortran_order' and 'shape'")
  }

  @Test(arguments: [
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'version': 2}", "'version'", 1),
    ("{1: 2, 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", "1", 1),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'données': 1}", "'données'", 3),
  ])
  func headerMustHoldOnlyTheThreeKeys(header: String, key: String, version: UInt8) {
    expectDecodeError(
      npyFile(header: header, version: version, data: littleEndianBytes(arange(6))),
      .unexpectedHeaderKey(source: "x.npy", header: header, key: key),
      "x.npy: header \(header) has unexpected key \(key): "
        + "expected only the keys 'descr', 'fortran_order' and 'shape'")
  }

  @Test func headerMustNameEachKeyOnce() {
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), \"shape\": (6,)}"
    expectDecodeError(
      npyFile(header: header, data: littleEndianBytes(arange(6))),
      .duplicateHeaderKey(source: "x.npy", header: header, key: "\"shape\""),
      "x.npy: header \(header) repeats key \"shape\": expected each key once")
  }

  @Test(arguments: [
    ("fortran_order", "0", "True or False"),
    ("fortran_order", "'False'", "True or False"),
    ("shape", "[2, 3]", "a tuple of integers such as (), (5,) or (2, 3)"),
    ("shape", "(6)", "a tuple of integers such as (), (5,) or (2, 3)"),
    ("shape", "None", "a tuple of integers such as (), (5,) or (2, 3)"),
  ])
  func headerValuesMustHaveTheirKind(key: String, value: String, expected: String) {
    let header =
      key == "shape"
      ? "{'descr': '<f4', 'fortran_order': False, 'shape': \(value), }"
      : "{'descr': '<f4', 'fortran_order': \(value), 'shape': (2, 3), }"
    expectDecodeError(
      npyFile(header: header, data: littleEndianBytes(arange(6))),
      .badHeaderValue(source: "x.npy", header: header, key: key, found: value, expected: expected),
      "x.npy: header \(header) gives '\(key)' the value \(value): expected \(expected)")
  }

  @Test(arguments: [
    "'<i4'", "'<c8'", "'|O'", "'|b1'", "'<U3'", "'float32'", "'f4'", "'<f16'", "'<F4'",
    "[('a', '<f4'), ('b', '<f4')]", "None",
  ])
  func dtypeMustBeAFloat(descr: String) {
    expectDecodeError(
      npyFile(header: "{'descr': \(descr), 'fortran_order': False, 'shape': (6,), }"),
      .unsupportedDType(source: "x.npy", descr: descr),
      "x.npy: unsupported dtype \(descr): expected one of '<f4', '<f8', '<f2', "
        + "'>f4', '>f8', '>f2' ('=' or '|' for this machine's byte order)")
  }

  @Test(arguments: [
    ("(2, -3)", 1, "-3"), ("(2.5,)", 0, "2.5"), ("('a', 3)", 0, "'a'"),
    ("(9223372036854775808,)", 0, "9223372036854775808"), ("(True, 3)", 0, "True"),
    ("(3, (2, 3))", 1, "(2, 3)"), ("(0x10,)", 0, "0x10"),
  ])
  func shapeEntriesMustBeNonNegativeIntegers(shape: String, index: Int, entry: String) {
    expectDecodeError(
      npyFile(header: "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"),
      .badShapeEntry(source: "x.npy", shape: shape, index: index, entry: entry),
      "x.npy: bad entry \(entry) at index \(index) of shape \(shape): "
        + "expected a non-negative integer that fits in 64 bits")
  }
}

// MARK: - Sizes

@Suite struct NPYSizeErrorTests {
  @Test(arguments: [
    ("<f4", [4_294_967_296, 4_294_967_296, 4_294_967_296], 4),
    ("<f4", [4_611_686_018_427_387_904], 4),  // 2^62 elements fit, 2^64 bytes do not
    (">f8", [1_152_921_504_606_846_976], 8),  // 2^60 × 8 = 2^63
  ])
  func byteSizeMustFitInInt(descr: String, shape: [Int], itemSize: Int) {
    let tuple = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init)
      .joined(separator: ", ") + ")"
    expectDecodeError(
      npyFile(header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(tuple), }"),
      .tooManyElements(source: "x.npy", shape: shape, itemSize: itemSize),
      "x.npy: header declares shape \(tuple) of float\(8 * itemSize) values, whose size "
        + "overflows a 64-bit integer: expected at most 9223372036854775807 bytes of data")
  }

  @Test func hugeShapeOnTinyFileThrowsQuickly() {
    let start = ContinuousClock.now
    expectDecodeError(
      npyFile(
        header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000, 1000000), }",
        data: [UInt8](repeating: 0, count: 96)),
      .dataSizeMismatch(
        source: "x.npy", shape: [1_000_000, 1_000_000, 1_000_000], itemSize: 4, dataOffset: 128,
        expectedBytes: 4_000_000_000_000_000_000, actualBytes: 96),
      "x.npy: header declares shape (1000000, 1000000, 1000000) = 1000000000000000000 float32 "
        + "values (4000000000000000000 bytes), but the file holds only 96 bytes of data from "
        + "byte 128: expected exactly 4000000000000000000")
    #expect(ContinuousClock.now - start < .seconds(1))
  }

  @Test(arguments: [
    ("<f4", "(2, 3)", [2, 3], 20),
    ("<f8", "(2, 3)", [2, 3], 40),
    ("<f2", "()", [], 0),
    ("<f4", "(5,)", [5], 19),
  ])
  func dataMustNotBeTruncated(descr: String, tuple: String, shape: [Int], actual: Int) {
    let itemSize = Int(descr.suffix(1))!
    let count = shape.reduce(1, *)
    expectDecodeError(
      npyFile(
        header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(tuple), }",
        data: [UInt8](repeating: 0, count: actual)),
      .dataSizeMismatch(
        source: "x.npy", shape: shape, itemSize: itemSize, dataOffset: 128,
        expectedBytes: count * itemSize, actualBytes: actual),
      "x.npy: header declares shape \(tuple) = \(count) float\(8 * itemSize) values "
        + "(\(count * itemSize) bytes), but the file holds only \(actual) bytes of data from "
        + "byte 128: expected exactly \(count * itemSize)")
  }

  @Test func dataMustNotHaveTrailingBytes() {
    expectDecodeError(
      npyFile(header: header2x3, data: littleEndianBytes(arange(7))),
      .dataSizeMismatch(
        source: "x.npy", shape: [2, 3], itemSize: 4, dataOffset: 128, expectedBytes: 24,
        actualBytes: 28),
      "x.npy: header declares shape (2, 3) = 6 float32 values (24 bytes), but the file holds "
        + "28 bytes of data from byte 128: expected exactly 24; trailing bytes after the array "
        + "are refused")
  }
}

// MARK: - Files

@Suite struct NPYFileErrorTests {
  @Test func missingFileIsUnreadable() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("missing.npy").path
    let error = FormatError.unreadable(path: path, reason: "No such file or directory")
    #expect(throws: error) { try NPY.read(contentsOf: path) }
    #expect(error.description == "\(path): cannot read the file: No such file or directory")
  }

  @Test func directoryIsUnreadable() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    #expect(throws: FormatError.unreadable(path: directory.path, reason: "Is a directory")) {
      try NPY.read(contentsOf: directory.path)
    }
  }

  @Test func fileErrorsNameThePath() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("short.npy").path
    try Data([0x93, 0x4E]).write(to: URL(fileURLWithPath: path))
    #expect(throws: FormatError.badMagic(source: path, found: [0x93, 0x4E])) {
      try NPY.read(contentsOf: path)
    }
  }

  @Test func missingDirectoryIsUnwritable() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("missing/x.npy").path
    let error = FormatError.unwritable(path: path, reason: "No such file or directory")
    #expect(throws: error) { try NPY.write(Tensor(shape: [1], scalars: [1]), to: path) }
    #expect(error.description == "\(path): cannot write the file: No such file or directory")
  }

  @Test func directoryIsUnwritable() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    #expect(throws: FormatError.unwritable(path: directory.path, reason: "Is a directory")) {
      try NPY.write(Tensor(shape: [1], scalars: [1]), to: directory.path)
    }
  }
}
