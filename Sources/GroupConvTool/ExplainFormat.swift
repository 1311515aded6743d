import Foundation

/// How explain writes numbers: the same spelling in the terminal, the SVG and the verdict.
enum ExplainFormat {
  /// `73,856`.
  static func count(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var grouped = ""
    for (index, digit) in digits.enumerated() {
      if index > 0 && (digits.count - index) % 3 == 0 { grouped += "," }
      grouped.append(digit)
    }
    return (value < 0 ? "-" : "") + grouped
  }

  /// `231.2 M`, `3.61 M`, `18.4 k`, `576`: three or four significant digits with a prefix.
  static func large(_ value: Double) -> String {
    for (scale, prefix) in [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")] where value >= scale {
      return significant(value / scale) + " " + prefix
    }
    return significant(value)
  }

  /// `2.41 MB`, `802.8 kB`, `576 B`.
  static func bytes(_ value: Int) -> String {
    let value = Double(value)
    for (scale, prefix) in [(1e9, "GB"), (1e6, "MB"), (1e3, "kB")] where value >= scale {
      return significant(value / scale) + " " + prefix
    }
    return "\(Int(value)) B"
  }

  /// At least three significant digits, no exponent: `231.2`, `3.61`, `0.0488`, `576`.
  static func significant(_ value: Double) -> String {
    guard value.isFinite, value != 0 else { return value == 0 ? "0" : "\(value)" }
    let magnitude = abs(value)
    let decimals =
      magnitude >= 100
      ? (magnitude >= 1000 || value == value.rounded() ? 0 : 1)
      : max(0, 2 - Int(log10(magnitude).rounded(.down)))
    return String(format: "%.\(decimals)f", value)
  }

  /// `part` as a percentage of `whole`, three significant digits: `50%`, `12.5%`, `1.73%`.
  static func percent(_ part: Double, of whole: Double) -> String {
    guard whole != 0 else { return "-" }
    let value = 100 * part / whole
    if value >= 99.95 && value < 100.05 { return "100%" }
    var text = String(format: "%.3g", value)
    if text.contains("e") { text = String(format: "%.4f", value) }
    return text + "%"
  }

  /// A factor: `8.0×`, `64×`, `0.93×`.
  static func times(_ value: Double) -> String {
    guard value.isFinite else { return "∞" }
    let decimals = value >= 20 ? 0 : value >= 1 ? 1 : 2
    return String(format: "%.\(decimals)f×", value)
  }

  /// A fixed number of decimals: `fixed(3.14159, 2) == "3.14"`.
  static func fixed(_ value: Double, _ decimals: Int) -> String {
    String(format: "%.\(decimals)f", value)
  }

  /// Milliseconds with three significant digits: `4.12`, `0.351`, `12.6`.
  static func milliseconds(_ seconds: Double) -> String {
    let ms = seconds * 1e3
    return ms >= 100
      ? fixed(ms, 0) : ms >= 10 ? fixed(ms, 1) : ms >= 1 ? fixed(ms, 2) : fixed(ms, 3)
  }

  /// A difference: `0`, `2.4e-07`.
  static func difference(_ value: Float) -> String {
    value == 0 ? "0" : String(format: "%.1e", Double(value))
  }

  /// `text` padded with spaces to `width` characters, on the right or (`right`) the left.
  static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - text.count))
    return right ? fill + text : text + fill
  }

  /// `0–31` or `5`: a range of channel indices.
  static func range(_ range: Range<Int>) -> String {
    range.count == 1 ? "\(range.lowerBound)" : "\(range.lowerBound)–\(range.upperBound - 1)"
  }

  /// `1, 2, 4`.
  static func list(_ values: [Int]) -> String { values.map(String.init).joined(separator: ", ") }

  /// `3` or `2–4`.
  static func span(_ range: ClosedRange<Int>) -> String {
    range.lowerBound == range.upperBound
      ? "\(range.lowerBound)" : "\(range.lowerBound)–\(range.upperBound)"
  }
}

extension ExplainFormat {
  /// `text` broken at spaces into lines of at most `width` characters, the first starting
  /// with `first` and the others with `rest`.
  static func wrap(_ text: String, first: String, rest: String, width: Int = 100) -> [String] {
    var lines: [String] = []
    var line = first
    var lineIsEmpty = true
    // Words, with a bracketed list such as a shape kept whole.
    var words: [String] = []
    var depth = 0
    for piece in text.split(separator: " ") {
      if depth > 0 { words[words.count - 1] += " " + piece } else { words.append(String(piece)) }
      depth += piece.count(where: { $0 == "[" }) - piece.count(where: { $0 == "]" })
    }
    for word in words {
      if !lineIsEmpty && line.count + 1 + word.count > width {
        lines.append(line)
        line = rest
        lineIsEmpty = true
      }
      line += (lineIsEmpty ? "" : " ") + word
      lineIsEmpty = false
    }
    lines.append(line)
    return lines
  }
}

extension ExplainFormat {
  /// Rows of cells as aligned columns after `indent`: each column as wide as its widest cell,
  /// the columns in `right` aligned right, and `gaps[c]` spaces (2 by default) before column c.
  static func table(
    _ rows: [[String]], right: Set<Int>, gaps: [Int: Int] = [:], indent: String = "   "
  ) -> [String] {
    let columns = rows.map(\.count).max() ?? 0
    let widths = (0..<columns).map { c in
      rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0
    }
    return rows.map { row in
      var line = indent
      for (c, cell) in row.enumerated() {
        if c > 0 { line += String(repeating: " ", count: gaps[c] ?? 2) }
        line += pad(cell, widths[c], right: right.contains(c))
      }
      while line.last == " " { line.removeLast() }
      return line
    }
  }
}
