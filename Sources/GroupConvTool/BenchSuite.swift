import GroupConv

/// One row of a benchmark suite: a 2-D convolution from a real network, with the columns of
/// shared/bench/conv-suite.csv.
struct BenchRow: Sendable {
  var name: String
  var batch, inChannels, height, width, outChannels, kernel, stride, padding, groups: Int

  /// Multiply-adds × 2 of one forward pass.
  var forwardFLOPs: Double {
    let outHeight = (height + 2 * padding - kernel) / stride + 1
    let outWidth = (width + 2 * padding - kernel) / stride + 1
    return 2 * Double(batch * outChannels * outHeight * outWidth)
      * Double(inChannels / max(1, groups) * kernel * kernel)
  }

  static let columns = [
    "name", "N", "C_in", "H", "W", "C_out", "kernel", "stride", "padding", "groups",
  ]

  /// The rows of a CSV suite with a header naming `columns` (in any order).
  static func parse(csv: String, source: String) throws -> [BenchRow] {
    let lines = csv.split(whereSeparator: \.isNewline).map { $0.filter { $0 != "\r" } }
      .filter { !$0.allSatisfy(\.isWhitespace) }
    guard let header = lines.first?.split(separator: ",", omittingEmptySubsequences: false)
      .map({ $0.filter { !$0.isWhitespace } })
    else { throw BenchError("\(source): the suite is empty; expected a header line") }
    var position: [String: Int] = [:]
    for column in columns {
      guard let index = header.firstIndex(of: column) else {
        throw BenchError(
          "\(source): the header has no column '\(column)'; expected "
            + columns.joined(separator: ","))
      }
      position[column] = index
    }
    return try lines.dropFirst().enumerated().map { offset, line in
      let fields = line.split(separator: ",", omittingEmptySubsequences: false)
        .map { String($0.filter { !$0.isWhitespace }) }
      let lineNumber = offset + 2
      guard fields.count == header.count else {
        throw BenchError(
          "\(source):\(lineNumber): \(fields.count) fields, expected \(header.count)")
      }
      func integer(_ column: String) throws -> Int {
        let text = fields[position[column]!]
        guard let value = Int(text), value >= 0, value <= 1 << 20 else {
          throw BenchError(
            "\(source):\(lineNumber): \(column) '\(text)' is not an integer in 0...\(1 << 20)")
        }
        return value
      }
      let row = BenchRow(
        name: fields[position["name"]!], batch: try integer("N"),
        inChannels: try integer("C_in"), height: try integer("H"), width: try integer("W"),
        outChannels: try integer("C_out"), kernel: try integer("kernel"),
        stride: try integer("stride"), padding: try integer("padding"),
        groups: try integer("groups"))
      // Counted in floating point: the products of columns up to 2^20 overflow Int.
      let outHeight = max(0, row.height + 2 * row.padding - row.kernel) / max(1, row.stride) + 1
      let outWidth = max(0, row.width + 2 * row.padding - row.kernel) / max(1, row.stride) + 1
      for (tensor, dimensions) in [
        ("input", [row.batch, row.inChannels, row.height, row.width]),
        ("weight", [row.outChannels, row.inChannels / max(1, row.groups), row.kernel, row.kernel]),
        ("output", [row.batch, row.outChannels, outHeight, outWidth]),
      ] where dimensions.reduce(1.0, { $0 * Double($1) }) > Double(maximumElements) {
        throw BenchError(
          "\(source):\(lineNumber): the \(tensor) \(dimensions) has more than "
            + "\(maximumElements) elements, the most a benchmarked tensor may have")
      }
      return row
    }
  }

  /// The most elements of a row's input, weight or output (256 MiB of floats).
  static let maximumElements = 1 << 26

  /// A copy of shared/bench/conv-suite.csv: convolution shapes from real networks.
  static let builtIn = """
    name,N,C_in,H,W,C_out,kernel,stride,padding,groups
    dense3x3_resnet,1,64,56,56,64,3,1,1,1
    grouped3x3_g2,1,128,28,28,128,3,1,1,2
    grouped3x3_g8,1,256,28,28,256,3,1,1,8
    resnext3x3_g32,1,128,56,56,128,3,1,1,32
    shufflenet1x1_g3,1,240,28,28,240,1,1,0,3
    pointwise_proj,1,144,56,56,24,1,1,0,1
    pointwise_expand,1,24,56,56,144,1,1,0,1
    dw3x3_mbv2,1,144,56,56,144,3,1,1,144
    dw3x3_s2,1,144,56,56,144,3,2,1,144
    dw3x3_late,1,960,7,7,960,3,1,1,960
    dw7x7_convnext,1,96,56,56,96,7,1,3,96
    dw3x3_mult2,1,32,112,112,64,3,1,1,32
    dense3x3_b8,8,64,56,56,64,3,1,1,1
    resnext3x3_g32_b8,8,128,56,56,128,3,1,1,32
    dw3x3_mbv2_b8,8,144,56,56,144,3,1,1,144
    """
}

/// A problem with a benchmark suite file, as one line.
struct BenchError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
