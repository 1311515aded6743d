/// The element types `NPY` reads: IEEE floats of 2, 4 or 8 bytes in either byte order.
struct NPYDType: Equatable {
  /// Bytes per element: 2, 4 or 8.
  var itemSize: Int
  var bigEndian: Bool

  /// The dtype a `descr` string names, or nil when `NPY` does not read it.
  ///
  /// `<` is little-endian and `>` big-endian. numpy never writes `=` or `|` for a float
  /// (it resolves native order to `<` or `>` when it saves), but it reads both as the
  /// reading machine's native order; so do we, which gives exactly what numpy gives on
  /// the same machine. Every platform Swift supports on Linux is little-endian.
  init?(descr: String) {
    let characters = Array(descr.utf8)
    guard characters.count == 3, characters[1] == UInt8(ascii: "f") else { return nil }
    switch characters[2] {
    case UInt8(ascii: "2"): itemSize = 2
    case UInt8(ascii: "4"): itemSize = 4
    case UInt8(ascii: "8"): itemSize = 8
    default: return nil
    }
    switch characters[0] {
    case UInt8(ascii: "<"): bigEndian = false
    case UInt8(ascii: ">"): bigEndian = true
    case UInt8(ascii: "="), UInt8(ascii: "|"):
      #if _endian(big)
        bigEndian = true
      #else
        bigEndian = false
      #endif
    default: return nil
    }
  }
}

/// The validated preamble of an `.npy` file: magic, version, header length and header.
///
/// Layout: `\x93NUMPY`, major and minor version bytes, the header length (2 bytes
/// little-endian for 1.0, 4 bytes for 2.0 and 3.0), then the header, a Python dict literal
/// such as `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded with spaces
/// and a newline. The data follows at `dataOffset`.
struct NPYHeader {
  var dtype: NPYDType
  var fortranOrder: Bool
  var shape: [Int]
  /// The number of elements: the product of `shape`.
  var count: Int
  /// The offset of the first data byte.
  var dataOffset: Int

  /// Reads and checks the preamble at the start of `bytes`, and that the data after it has
  /// exactly the size the header declares; allocates nothing in proportion to that size.
  init(parsing bytes: [UInt8], source: String) throws(FormatError) {
    let (headerOffset, headerBytes) = try Self.headerText(of: bytes, source: source)
    var header = String(decoding: headerBytes, as: UTF8.self)
    while header.last?.isWhitespace == true { header.removeLast() }
    let entries: [PythonLiteral.Entry]
    do {
      entries = try PythonLiteralParser.parseDict(headerBytes)
    } catch {
      throw .malformedHeader(
        source: source, header: header, offset: headerOffset + error.offset,
        expected: error.expected, found: error.found)
    }
    let values = try Values(entries, source: source, header: header)
    dtype = try values.dtype(source: source)
    fortranOrder = try values.fortranOrder(source: source, header: header)
    shape = try values.shape(source: source, header: header)

    // Checked arithmetic on the sizes before anything is allocated.
    var count = 1
    var overflow = false
    for size in shape where !overflow {
      (count, overflow) = count.multipliedReportingOverflow(by: size)
    }
    let (byteCount, byteOverflow) = count.multipliedReportingOverflow(by: dtype.itemSize)
    guard !overflow && !byteOverflow else {
      throw .tooManyElements(source: source, shape: shape, itemSize: dtype.itemSize)
    }
    self.count = count
    dataOffset = headerOffset + headerBytes.count
    guard bytes.count - dataOffset == byteCount else {
      throw .dataSizeMismatch(
        source: source, shape: shape, itemSize: dtype.itemSize, dataOffset: dataOffset,
        expectedBytes: byteCount, actualBytes: bytes.count - dataOffset)
    }
  }

  /// The header's offset and bytes, after checking the magic, the version, the header
  /// length against the file's size, and that the header is text of the version's encoding.
  private static func headerText(
    of bytes: [UInt8], source: String
  ) throws(FormatError) -> (offset: Int, bytes: [UInt8]) {
    guard bytes.count >= NPY.magic.count, bytes.prefix(NPY.magic.count).elementsEqual(NPY.magic)
    else { throw .badMagic(source: source, found: Array(bytes.prefix(NPY.magic.count))) }

    let versionOffset = NPY.magic.count
    guard bytes.count >= versionOffset + 2 else {
      throw .truncatedHeader(
        source: source, field: "format version", offset: versionOffset, expected: 2,
        available: bytes.count - versionOffset)
    }
    let (major, minor) = (Int(bytes[versionOffset]), Int(bytes[versionOffset + 1]))
    let lengthSize: Int
    switch (major, minor) {
    case (1, 0): lengthSize = 2
    case (2, 0), (3, 0): lengthSize = 4
    default: throw .unsupportedVersion(source: source, major: major, minor: minor)
    }

    let lengthOffset = versionOffset + 2
    guard bytes.count >= lengthOffset + lengthSize else {
      throw .truncatedHeader(
        source: source, field: "header length", offset: lengthOffset, expected: lengthSize,
        available: bytes.count - lengthOffset)
    }
    // Unsigned and 64-bit, so that a length near 4 GiB cannot wrap a 32-bit Int.
    var declaredLength: UInt64 = 0
    for index in (0..<lengthSize).reversed() {
      declaredLength = declaredLength << 8 | UInt64(bytes[lengthOffset + index])
    }
    let headerOffset = lengthOffset + lengthSize
    guard UInt64(bytes.count - headerOffset) >= declaredLength else {
      throw .truncatedHeader(
        source: source, field: "header text", offset: headerOffset,
        expected: Int(clamping: declaredLength), available: bytes.count - headerOffset)
    }
    let headerBytes = Array(bytes[headerOffset..<headerOffset + Int(declaredLength)])

    if let bad = firstInvalidTextByte(headerBytes, utf8: major >= 3) {
      throw .invalidHeaderText(
        source: source, version: major, offset: headerOffset + bad, byte: headerBytes[bad])
    }
    return (headerOffset, headerBytes)
  }

  /// The values of the three `.npy` keys, as written.
  private struct Values {
    var descr: PythonLiteral
    var fortranOrder: PythonLiteral
    var shape: PythonLiteral

    /// The values of a header dict, which must hold each of the three keys exactly once.
    init(_ entries: [PythonLiteral.Entry], source: String, header: String) throws(FormatError) {
      var found: [String: PythonLiteral] = [:]
      for entry in entries {
        guard case .string(let key) = entry.key.value,
          ["descr", "fortran_order", "shape"].contains(key)
        else { throw .unexpectedHeaderKey(source: source, header: header, key: entry.key.text) }
        guard found.updateValue(entry.value, forKey: key) == nil else {
          throw .duplicateHeaderKey(source: source, header: header, key: entry.key.text)
        }
      }
      guard let descr = found["descr"] else {
        throw .missingHeaderKey(source: source, header: header, key: "descr")
      }
      guard let fortranOrder = found["fortran_order"] else {
        throw .missingHeaderKey(source: source, header: header, key: "fortran_order")
      }
      guard let shape = found["shape"] else {
        throw .missingHeaderKey(source: source, header: header, key: "shape")
      }
      (self.descr, self.fortranOrder, self.shape) = (descr, fortranOrder, shape)
    }

    /// `descr`: a string naming a float dtype `NPY` reads.
    func dtype(source: String) throws(FormatError) -> NPYDType {
      guard case .string(let name) = descr.value, let dtype = NPYDType(descr: name) else {
        throw .unsupportedDType(source: source, descr: descr.text)
      }
      return dtype
    }

    /// `fortran_order`: `True` or `False`.
    func fortranOrder(source: String, header: String) throws(FormatError) -> Bool {
      switch fortranOrder.value {
      case .atom("True"): return true
      case .atom("False"): return false
      default:
        throw .badHeaderValue(
          source: source, header: header, key: "fortran_order", found: fortranOrder.text,
          expected: "True or False")
      }
    }

    /// `shape`: a tuple of non-negative integers that fit in an `Int`.
    func shape(source: String, header: String) throws(FormatError) -> [Int] {
      guard case .tuple(let entries) = shape.value else {
        throw .badHeaderValue(
          source: source, header: header, key: "shape", found: shape.text,
          expected: "a tuple of integers such as (), (5,) or (2, 3)")
      }
      var sizes: [Int] = []
      for (index, entry) in entries.enumerated() {
        guard case .atom(let text) = entry.value, let size = NPYHeader.dimension(text) else {
          throw .badShapeEntry(source: source, shape: shape.text, index: index, entry: entry.text)
        }
        sizes.append(size)
      }
      return sizes
    }
  }

  /// A shape entry: decimal digits with an optional `+` and, as Python 2 wrote long
  /// integers, an optional `L`; nil when negative, not an integer, or beyond `Int.max`.
  private static func dimension(_ text: String) -> Int? {
    var digits = text[...]
    if digits.last == "L" || digits.last == "l" { digits = digits.dropLast() }
    if digits.first == "+" { digits = digits.dropFirst() }
    guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
    return Int(digits)
  }

  /// The offset of the first byte that is not valid ASCII (or, for `utf8`, UTF-8), if any.
  private static func firstInvalidTextByte(_ bytes: [UInt8], utf8: Bool) -> Int? {
    guard utf8 else { return bytes.firstIndex { $0 >= 0x80 } }
    var parser = Unicode.UTF8.ForwardParser()
    var iterator = bytes.makeIterator()
    var offset = 0
    while true {
      switch parser.parseScalar(from: &iterator) {
      case .valid(let scalar): offset += scalar.count
      case .emptyInput: return nil
      case .error: return offset
      }
    }
  }
}
