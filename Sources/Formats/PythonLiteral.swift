/// A Python literal as an `.npy` header writes one: the part of what `ast.literal_eval`
/// accepts that a header can hold, kept with the text it was parsed from.
///
/// Numbers and names (`True`, `3`, `-2`, `2L`) stay unparsed `atom`s: the header checks
/// decide what each key may hold, and quote the text when it holds something else.
struct PythonLiteral: Equatable {
  /// One key and value of a dict literal.
  struct Entry: Equatable {
    var key: PythonLiteral
    var value: PythonLiteral
  }

  enum Value: Equatable {
    case string(String)
    case atom(String)
    case tuple([PythonLiteral])
    case list([PythonLiteral])
    case dict([Entry])
  }

  /// What the literal denotes; `(5)` is the atom `5`, as in Python.
  var value: Value
  /// The literal as written in the header.
  var text: String
}

/// A parser for `PythonLiteral`s over UTF-8 bytes, offsets counted from their start.
///
/// Recursive descent, one byte of look-ahead, nesting depth capped so that a hostile header
/// of a million `(` cannot overflow the stack. Quotes may be single or double, trailing
/// commas are allowed, whitespace may appear between any two tokens.
struct PythonLiteralParser {
  /// Where and why a literal failed to parse.
  struct SyntaxError: Error, Equatable {
    /// Offset of the offending byte from the start of the text.
    var offset: Int
    /// What the grammar allows there, e.g. `',' or '}'`.
    var expected: String
    /// What is there: a quoted character, or "the end of the header".
    var found: String
  }

  /// How deeply brackets may nest; a real header nests two deep.
  static let maximumDepth = 16

  private let bytes: [UInt8]
  private var position = 0

  /// The entries of the one dict literal in `bytes`, which may be surrounded by whitespace.
  static func parseDict(_ bytes: [UInt8]) throws(SyntaxError) -> [PythonLiteral.Entry] {
    var parser = PythonLiteralParser(bytes: bytes)
    parser.skipWhitespace()
    let start = parser.position
    guard parser.peek == UInt8(ascii: "{") else { throw parser.failure(expected: "'{'") }
    let literal = try parser.parseValue(depth: 0)
    guard case .dict(let entries) = literal.value else {
      parser.position = start  // unreachable: a literal starting with '{' is a dict
      throw parser.failure(expected: "'{'")
    }
    parser.skipWhitespace()
    guard parser.peek == nil else { throw parser.failure(expected: "the end of the header") }
    return entries
  }

  private init(bytes: [UInt8]) {
    self.bytes = bytes
  }

  private var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

  private mutating func skipWhitespace() {
    while let byte = peek, [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D].contains(byte) {
      position += 1
    }
  }

  private func text(from start: Int) -> String {
    String(decoding: bytes[start..<position], as: UTF8.self)
  }

  /// A syntax error at the current position.
  private func failure(expected: String) -> SyntaxError {
    SyntaxError(offset: position, expected: expected, found: describeCurrent())
  }

  /// The character at the current position, quoted, for a message.
  private func describeCurrent() -> String {
    guard let byte = peek else { return "the end of the header" }
    if byte < 0x80 { return pythonRepr(byte) }
    // A multi-byte UTF-8 scalar; the header was validated, so it is complete.
    let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2
    let end = min(position + length, bytes.count)
    return "'" + String(decoding: bytes[position..<end], as: UTF8.self) + "'"
  }

  private mutating func parseValue(depth: Int) throws(SyntaxError) -> PythonLiteral {
    skipWhitespace()
    let start = position
    guard let byte = peek else { throw failure(expected: "a value") }
    switch byte {
    case UInt8(ascii: "'"), UInt8(ascii: "\""):
      return PythonLiteral(value: .string(try parseString(quote: byte)), text: text(from: start))
    case UInt8(ascii: "("), UInt8(ascii: "["), UInt8(ascii: "{"):
      guard depth < Self.maximumDepth else {
        throw failure(expected: "brackets nested at most \(Self.maximumDepth) deep")
      }
      return try parseBracketed(depth: depth + 1)
    default:
      while let next = peek, Self.isAtomByte(next) { position += 1 }
      guard position > start else { throw failure(expected: "a value") }
      return PythonLiteral(value: .atom(text(from: start)), text: text(from: start))
    }
  }

  /// Letters, digits and the signs and points of numbers: `True`, `-3`, `2.5`, `2L`.
  private static func isAtomByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
      UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."),
      UInt8(ascii: "+"), UInt8(ascii: "-"):
      true
    default: false
    }
  }

  /// A quoted string; a backslash makes the next character literal.
  private mutating func parseString(quote: UInt8) throws(SyntaxError) -> String {
    position += 1
    var content: [UInt8] = []
    while let byte = peek, byte != quote {
      if byte == UInt8(ascii: "\\"), position + 1 < bytes.count { position += 1 }
      content.append(bytes[position])
      position += 1
    }
    guard peek == quote else {
      throw failure(expected: "a closing \(pythonRepr(quote))")
    }
    position += 1
    return String(decoding: content, as: UTF8.self)
  }

  /// A tuple, list or dict: items separated by commas, an optional trailing comma.
  private mutating func parseBracketed(depth: Int) throws(SyntaxError) -> PythonLiteral {
    let start = position
    let open = bytes[position]
    let close =
      open == UInt8(ascii: "(") ? UInt8(ascii: ")")
      : open == UInt8(ascii: "[") ? UInt8(ascii: "]") : UInt8(ascii: "}")
    let closeName = pythonRepr(close)
    position += 1
    var items: [PythonLiteral] = []
    var entries: [PythonLiteral.Entry] = []
    var sawComma = false
    while true {
      skipWhitespace()
      if peek == close { break }
      let item = try parseValue(depth: depth)
      if open == UInt8(ascii: "{") {
        skipWhitespace()
        guard peek == UInt8(ascii: ":") else { throw failure(expected: "':'") }
        position += 1
        entries.append(PythonLiteral.Entry(key: item, value: try parseValue(depth: depth)))
      } else {
        items.append(item)
      }
      skipWhitespace()
      if peek == close { break }
      guard peek == UInt8(ascii: ",") else { throw failure(expected: "',' or \(closeName)") }
      sawComma = true
      position += 1
    }
    position += 1
    let text = text(from: start)
    switch open {
    case UInt8(ascii: "{"): return PythonLiteral(value: .dict(entries), text: text)
    case UInt8(ascii: "["): return PythonLiteral(value: .list(items), text: text)
    default:
      // `(x)` is x itself; only a comma, or nothing at all, makes a tuple.
      if items.count == 1 && !sawComma { return PythonLiteral(value: items[0].value, text: text) }
      return PythonLiteral(value: .tuple(items), text: text)
    }
  }
}

/// An ASCII character quoted as Python's `repr` quotes it (`'x'`, `"'"`), control
/// characters as `'\x0a'`.
private func pythonRepr(_ byte: UInt8) -> String {
  switch byte {
  case UInt8(ascii: "'"): "\"'\""
  case UInt8(ascii: "\\"): "'\\\\'"
  case 0x20...0x7E: "'\(Character(Unicode.Scalar(byte)))'"
  default: "'\(escaped([byte]))'"
  }
}
