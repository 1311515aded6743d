import GroupConv

/// The report as a picture: the weight matrix of each grouping side by side, the separable
/// block's two stages and their composite, and the channel shuffle, drawn from the layer's
/// real weights as an SVG (or an HTML page holding it and the terminal text).
struct ExplainSVG {
  let report: ExplainReport

  /// At most this many cells along a panel's side; more channels share a cell.
  static let maximumCells = 64
  /// Group colours, cycled.
  static let palette: [(Double, Double, Double)] = [
    (31, 90, 168), (214, 96, 30), (34, 139, 74), (170, 48, 120), (118, 90, 200),
    (190, 150, 20), (20, 140, 160), (200, 50, 50),
  ]
  /// Shades of a colour: the norm of a cell's filters, quantised.
  static let shades = 6

  var layer: ExplainLayer { report.layer }

  /// Channels per cell, one scale for every panel so that their sizes compare.
  var scale: Int {
    let largest =
      ([layer.inputChannels, layer.outputChannels]
      + (report.shuffle.map {
        [$0.shuffle.rows]
      } ?? [])).max() ?? 1
    return (largest + Self.maximumCells - 1) / Self.maximumCells
  }

  /// Pixels per cell.
  var cell: Int {
    let cells = ([layer.inputChannels, layer.outputChannels].max()! + scale - 1) / scale
    return max(2, min(16, 192 / max(1, cells)))
  }

  // MARK: - Document

  var svg: String {
    var body: [String] = []
    var y = 34
    let title =
      "Groups in convolution: Conv2d(\(layer.inputChannels) → \(layer.outputChannels), "
      + "\(layer.kernelText)) on \(layer.inputShape)"
    body.append(text(20, y, title, size: 18, bold: true))
    y += 22
    body.append(
      text(
        20, y,
        "Each panel is a weight matrix: rows are output channels, columns input channels; "
          + "shade = ‖W[o, i, :, :]‖ of this layer's weights, white = zero, colour = group"
          + (scale > 1 ? "; 1 cell = \(scale)×\(scale) channels (largest norm shown)" : "") + "."))
    y += 30

    let variants = zip(layer.variants, report.matrices).filter { $0.0.kind != .separable }
    body.append(
      text(
        20, y, "1. Each grouping, as the dense weight it equals (expandGroupedWeight)",
        size: 14, bold: true))
    y += 10
    var right = 0
    let first = panelRow(
      variants.map { (variant, matrix) in
        (matrix, variant.groups, caption(variant, matrix))
      }, y: y)
    body += first.elements
    right = max(right, first.right)
    y += first.height + 30

    if report.separableStages.count == 3 {
      body.append(
        text(
          20, y,
          "2. Depthwise-separable: \(layer.kernelText) depthwise D, then 1×1 "
            + "pointwise P, compose into one dense weight W[o,i,:,:] = P[o,i]·D[i,:,:] "
            + "(composeSeparable)", size: 14, bold: true))
      y += 10
      let stages = report.separableStages
      let costs =
        layer.variants.first { $0.kind == .separable }?.stages
        .map { ExplainFormat.count(ConvolutionCost($0).parameters) + " params" } ?? ["", ""]
      let row = panelRow(
        [
          (stages[0], layer.inputChannels, "each channel alone, \(costs[0])"),
          (stages[1], 1, "mixes channels, \(costs[1])"),
          (stages[2], 1, "dense, rank 1 per input"),
        ], y: y, operators: ["then", "="])
      body += row.elements
      right = max(right, row.right)
      y += row.height + 30
    }

    if let s = report.shuffle {
      body.append(
        text(
          20, y,
          "3. Two stacked 1×1 convolutions with groups \(s.groups): output "
            + "of the second against input of the first, without and with channel_shuffle",
          size: 14, bold: true))
      y += 10
      let row = panelRow(
        [
          (ChannelMatrix("stacked", connectivity: s.stacked), s.groups, "no shuffle"),
          (s.shuffle, 1, "channel_shuffle(\(s.groups))"),
          (ChannelMatrix("stacked with shuffle", connectivity: s.shuffled), 1, "shuffle between"),
        ], y: y)
      body += row.elements
      right = max(right, row.right)
      y += row.height + 20
    }
    let width = max(right, body.compactMap(Self.rightEdge).max() ?? 0) + 20
    return """
      <?xml version="1.0" encoding="UTF-8"?>
      <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(y)" \
      viewBox="0 0 \(width) \(y)" font-family="Helvetica, Arial, sans-serif" font-size="12">
      <title>\(Self.escape(title))</title>
      <rect width="\(width)" height="\(y)" fill="white"/>
      \(body.joined(separator: "\n"))
      </svg>

      """
  }

  /// An HTML page: the picture, then the terminal report as preformatted text.
  func html(terminal: String) -> String {
    let picture = svg.split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
      .joined(separator: "\n")
    return """
      <!DOCTYPE html>
      <html lang="en">
      <head>
      <meta charset="utf-8">
      <title>groupconv explain: Conv2d(\(layer.inputChannels) → \(layer.outputChannels), \
      \(layer.kernelText))</title>
      <style>body { font-family: Helvetica, Arial, sans-serif; margin: 2em; } \
      pre { font-size: 13px; line-height: 1.2; }</style>
      </head>
      <body>
      <h1>groupconv explain</h1>
      \(picture)
      <pre>\(Self.escape(terminal))</pre>
      </body>
      </html>

      """
  }

  // MARK: - Panels

  private func caption(_ variant: ExplainVariant, _ matrix: ChannelMatrix) -> String {
    let seen = matrix.connectivity.inputs(seenBy: 0).count
    return
      (variant.kind == .dense ? "all \(seen) inputs" : "\(seen) of \(layer.inputChannels) inputs")
      + ", \(ExplainFormat.count(variant.cost.parameters)) params"
  }

  /// Panels side by side from x = 20 at `y`, with an optional operator between neighbours;
  /// returns the elements and the row's height.
  private func panelRow(
    _ panels: [(matrix: ChannelMatrix, groups: Int, caption: String)], y: Int,
    operators: [String?] = []
  ) -> (elements: [String], height: Int, right: Int) {
    var elements: [String] = []
    var x = 20
    let height = 38 + (panels.map { rows($0.matrix) * cell }.max() ?? 0)
    for (index, panel) in panels.enumerated() {
      let width = columns(panel.matrix) * cell
      let boxWidth = max(width, 6 * max(panel.matrix.title.count + 2, panel.caption.count))
      elements.append(text(x, y + 16, panel.matrix.title, bold: true))
      elements.append(text(x, y + 30, panel.caption, size: 11, fill: "#555555"))
      elements.append(matrix(panel.matrix, groups: panel.groups, x: x, y: y + 38))
      x += boxWidth + 24
      if index < operators.count, let symbol = operators[index] {
        elements.append(text(x - 8, y + 4 + (38 + height) / 2, symbol, size: 14, fill: "#333333"))
        x += 8 * symbol.count + 16
      }
    }
    return (elements, height, x - 24)
  }

  private func rows(_ m: ChannelMatrix) -> Int { (m.rows + scale - 1) / scale }
  private func columns(_ m: ChannelMatrix) -> Int { (m.columns + scale - 1) / scale }

  /// One matrix: a frame, then a path per (group colour, shade) covering its cells.
  private func matrix(_ m: ChannelMatrix, groups: Int, x: Int, y: Int) -> String {
    let (rowCells, columnCells) = (rows(m), columns(m))
    let largest = m.norms.max() ?? 0
    let rowsPerGroup = max(1, m.rows / max(1, groups))
    let square = "h\(cell)v\(cell)h-\(cell)z"
    var paths: [Int: [String]] = [:]
    for r in 0..<rowCells {
      for c in 0..<columnCells {
        var value: Float = 0
        for o in r * scale..<min((r + 1) * scale, m.rows) {
          for i in c * scale..<min((c + 1) * scale, m.columns) {
            value = max(value, m.norms[o * m.columns + i])
          }
        }
        guard value > 0, largest > 0 else { continue }
        let shade = min(Self.shades - 1, Int(Float(Self.shades) * value / largest))
        let group = (r * scale / rowsPerGroup) % Self.palette.count
        paths[group * Self.shades + shade, default: []].append(
          "M" + String(x + c * cell) + " " + String(y + r * cell) + square)
      }
    }
    var elements = paths.keys.sorted().map { key in
      "<path fill=\"\(color(key / Self.shades, shade: key % Self.shades))\" d=\""
        + paths[key]!.joined() + "\"/>"
    }
    elements.append(
      "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(columnCells * cell)\" height=\"\(rowCells * cell)\" "
        + "fill=\"none\" stroke=\"#999999\" stroke-width=\"1\"/>")
    return "<g>\n" + elements.joined(separator: "\n") + "\n</g>"
  }

  /// The palette colour `index` blended with white: shade 0 palest, the last full.
  private func color(_ index: Int, shade: Int) -> String {
    let (r, g, b) = Self.palette[index]
    let strength = 0.3 + 0.7 * Double(shade + 1) / Double(Self.shades)
    let channel = { (value: Double) in
      let mixed = Int((255 - (255 - value) * strength).rounded())
      let hex = String(mixed, radix: 16)
      return hex.count == 1 ? "0" + hex : hex
    }
    return "#" + channel(r) + channel(g) + channel(b)
  }

  private func text(
    _ x: Int, _ y: Int, _ content: String, size: Int = 12, bold: Bool = false,
    fill: String = "#111111"
  ) -> String {
    "<text x=\"\(x)\" y=\"\(y)\" font-size=\"\(size)\"\(bold ? " font-weight=\"bold\"" : "") "
      + "fill=\"\(fill)\">\(Self.escape(content))</text>"
  }

  /// An estimate of where a text element ends, for the picture's width.
  private static func rightEdge(_ element: String) -> Int? {
    guard element.hasPrefix("<text x=\""),
      let x = Int(element.dropFirst(9).prefix { $0.isNumber }),
      let start = element.firstIndex(of: ">"), let end = element.lastIndex(of: "<")
    else { return nil }
    let size =
      element.contains("font-size=\"18\"") ? 11 : element.contains("font-size=\"14\"") ? 9 : 6.5
    return x + Int(size * Double(element[element.index(after: start)..<end].count))
  }

  /// `text` with XML's special characters escaped.
  static func escape(_ text: String) -> String {
    var escaped = ""
    for character in text {
      switch character {
      case "&": escaped += "&amp;"
      case "<": escaped += "&lt;"
      case ">": escaped += "&gt;"
      case "\"": escaped += "&quot;"
      default: escaped.append(character)
      }
    }
    return escaped
  }
}
