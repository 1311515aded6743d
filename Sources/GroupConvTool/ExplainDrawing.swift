import GroupConv

/// How many channels one cell of a drawn block matrix stands for.
struct BlockScale: Equatable, Sendable {
  /// Output channels (rows) per cell.
  let rows: Int
  /// Input channels (columns) per cell.
  let columns: Int

  /// The smallest scale that draws a `rows` × `columns` matrix in at most `cells` cells a side.
  init(rows: Int, columns: Int, cells: Int = 16) {
    self.rows = max(1, (rows + cells - 1) / cells)
    self.columns = max(1, (columns + cells - 1) / cells)
  }

  /// The scale that fits every matrix of `matrices`, so that a row of them compares.
  init(fitting matrices: [ChannelConnectivity], cells: Int = 16) {
    self.init(
      rows: matrices.map(\.outputChannels).max() ?? 1,
      columns: matrices.map(\.inputChannels).max() ?? 1, cells: cells)
  }

  /// "1 cell = 8 output × 4 input channels".
  var description: String {
    rows == 1 && columns == 1
      ? "1 cell = 1 output × 1 input channel"
      : "1 cell = \(rows) output × \(columns) input channel\(columns == 1 ? "" : "s")"
  }

  var isOne: Bool { rows == 1 && columns == 1 }
}

/// Block matrices drawn with characters: rows are output channels, columns input channels.
enum BlockDrawing {
  /// The legend for drawings at `scale`.
  static func legend(_ scale: BlockScale) -> String {
    scale.isOne
      ? "█ connected, · not connected"
      : "█ every pair connected, ▓ at least half, ▒ at least a quarter, ░ some, · none"
  }

  /// One string per row of cells.
  static func draw(_ connectivity: ChannelConnectivity, _ scale: BlockScale) -> [String] {
    let rowCells = (connectivity.outputChannels + scale.rows - 1) / scale.rows
    let columnCells = (connectivity.inputChannels + scale.columns - 1) / scale.columns
    return (0..<rowCells).map { r in
      let outputs = r * scale.rows..<min((r + 1) * scale.rows, connectivity.outputChannels)
      return String(
        (0..<columnCells).map { c -> Character in
          let inputs = c * scale.columns..<min((c + 1) * scale.columns, connectivity.inputChannels)
          return symbol(connectivity.density(outputs: outputs, inputs: inputs))
        })
    }
  }

  static func symbol(_ density: Double) -> Character {
    switch density {
    case 1: "█"
    case 0.5...: "▓"
    case 0.25...: "▒"
    case let d where d > 0: "░"
    default: "·"
    }
  }

  /// Panels (a title over its lines) side by side, `gap` spaces apart, wrapped to
  /// `width` columns after `indent`.
  static func panels(
    _ panels: [(title: String, lines: [String])], indent: String = "   ", gap: Int = 2,
    width: Int = 100
  ) -> [String] {
    var output: [String] = []
    var row: [(title: String, lines: [String])] = []
    var used = indent.count
    func flush() {
      guard !row.isEmpty else { return }
      let widths = row.map { max($0.title.count, $0.lines.map(\.count).max() ?? 0) }
      let height = row.map(\.lines.count).max() ?? 0
      let spacer = String(repeating: " ", count: gap)
      for line in -1..<height {
        let cells = zip(row, widths).map { panel, width in
          let text =
            line < 0 ? panel.title : line < panel.lines.count ? panel.lines[line] : ""
          return ExplainFormat.pad(text, width)
        }
        output.append(trimmed(indent + cells.joined(separator: spacer)))
      }
      row = []
      used = indent.count
    }
    for panel in panels {
      let panelWidth = max(panel.title.count, panel.lines.map(\.count).max() ?? 0)
      if !row.isEmpty && used + gap + panelWidth > width {
        flush()
        output.append("")
      }
      used += (row.isEmpty ? 0 : gap) + panelWidth
      row.append(panel)
    }
    flush()
    return output
  }

  /// `line` without trailing spaces.
  static func trimmed(_ line: String) -> String {
    var line = line
    while line.last == " " { line.removeLast() }
    return line
  }
}
