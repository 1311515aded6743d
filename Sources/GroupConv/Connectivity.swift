import Tensors

/// Which output channels of a channel map (a convolution, a shuffle, a stack of them) see
/// which input channels: a boolean matrix with a row per output channel and a column per
/// input channel.
///
/// A dense convolution connects everything; `groups` makes the matrix block-diagonal with
/// `groups` blocks; depthwise makes it (for multiplier m) a diagonal of m-row blocks. Stacking
/// maps multiplies their matrices in boolean arithmetic, which is why stacked grouped
/// convolutions never mix groups and why a channel shuffle between them does.
///
/// ```swift
/// let grouped = try ChannelConnectivity.grouped(inputChannels: 8, outputChannels: 8, groups: 2)
/// let stacked = try grouped.followed(by: grouped)                   // still 2 blocks
/// let shuffle = try ChannelConnectivity.channelShuffle(channels: 8, groups: 2)
/// let mixed = try grouped.followed(by: shuffle).followed(by: grouped)  // every output sees all
/// ```
public struct ChannelConnectivity: Equatable, Hashable, Sendable, CustomStringConvertible {
  /// Rows: the channels the map produces.
  public let outputChannels: Int
  /// Columns: the channels the map reads.
  public let inputChannels: Int
  /// Row-major: `connected[o * inputChannels + i]` is whether output o sees input i.
  public let connected: [Bool]

  /// A matrix with `connected(o, i)` for every output o and input i.
  ///
  /// - Throws: `ConvolutionError.negativeSize` for a negative channel count.
  public init(outputChannels: Int, inputChannels: Int, connected: (Int, Int) -> Bool)
    throws(ConvolutionError)
  {
    guard outputChannels >= 0, inputChannels >= 0 else {
      throw .negativeSize(
        operation: "ChannelConnectivity", name: "channels",
        shape: [outputChannels, inputChannels])
    }
    self.outputChannels = outputChannels
    self.inputChannels = inputChannels
    var entries = [Bool](repeating: false, count: outputChannels * inputChannels)
    for o in 0..<outputChannels {
      for i in 0..<inputChannels { entries[o * inputChannels + i] = connected(o, i) }
    }
    self.connected = entries
  }

  /// The connectivity of a dense convolution weight `[C_out, C_in, k...]` (such as
  /// `expandGroupedWeight` or `composeSeparable` returns): output o sees input i when some tap
  /// of `weight[o, i, ...]` is not zero.
  ///
  /// - Throws: `ConvolutionError.weightRank` for a weight of rank below 2.
  public init(weight: Tensor) throws(ConvolutionError) {
    guard weight.rank >= 2 else {
      throw .weightRank(operation: "ChannelConnectivity", weightShape: weight.shape, inputShape: [])
    }
    let taps = weight.shape[2...].reduce(1, *)
    let columns = weight.shape[1]
    let scalars = weight.scalars
    try self.init(outputChannels: weight.shape[0], inputChannels: columns) { o, i in
      let start = (o * columns + i) * taps
      return scalars[start..<start + taps].contains { $0 != 0 }
    }
  }

  /// The connectivity of a grouped convolution's weight `[C_out, C_in / groups, k...]`: that
  /// of its dense equivalent, `expandGroupedWeight(weight, groups: groups)`.
  ///
  /// - Throws: `ConvolutionError` when `groups` does not divide the weight's first dimension.
  public init(groupedWeight: Tensor, groups: Int) throws(ConvolutionError) {
    try self.init(weight: expandGroupedWeight(groupedWeight, groups: groups))
  }

  /// The block-diagonal connectivity of any convolution with these channels and `groups`:
  /// output o sees input i exactly when both belong to the same group. `groups` equal to the
  /// input channels is depthwise (each block one input column, `C_out / C_in` rows).
  ///
  /// - Throws: `ConvolutionError` for non-positive channels or groups, or groups that do not
  ///   divide both channel counts (the message lists the valid groups).
  public static func grouped(inputChannels: Int, outputChannels: Int, groups: Int)
    throws(ConvolutionError) -> ChannelConnectivity
  {
    let operation = "ChannelConnectivity.grouped"
    for (name, value) in [("in_channels", inputChannels), ("out_channels", outputChannels)]
    where value <= 0 {
      throw .nonPositiveArgument(operation: operation, name: name, values: [value])
    }
    guard groups > 0 else { throw .nonPositiveGroups(operation: operation, groups: groups) }
    for (role, channels) in [
      (ConvolutionError.ChannelRole.input, inputChannels), (.output, outputChannels),
    ] where channels % groups != 0 {
      throw .channelsNotDivisibleByGroups(
        operation: operation, role: role, channels: channels, groups: groups,
        inputChannels: inputChannels, outputChannels: outputChannels)
    }
    let (rowsPerGroup, columnsPerGroup) = (outputChannels / groups, inputChannels / groups)
    return try ChannelConnectivity(outputChannels: outputChannels, inputChannels: inputChannels) {
      o, i in o / rowsPerGroup == i / columnsPerGroup
    }
  }

  /// The permutation that `channelShuffle(_:groups:)` applies, as a connectivity: output c
  /// sees the one input channel it is copied from. Derived by shuffling the channel indices
  /// with `channelShuffle` itself.
  ///
  /// - Throws: `ConvolutionError` when `groups` is not positive or does not divide `channels`.
  public static func channelShuffle(channels: Int, groups: Int) throws(ConvolutionError)
    -> ChannelConnectivity
  {
    guard channels >= 0 else {
      throw .negativeSize(operation: "channel_shuffle", name: "channels", shape: [channels])
    }
    let indices = Tensor(
      validShape: [1, channels, 1, 1], scalars: (0..<channels).map { Float($0) })
    let source = try GroupConv.channelShuffle(indices, groups: groups).scalars.map { Int($0) }
    return try ChannelConnectivity(outputChannels: channels, inputChannels: channels) { o, i in
      source[o] == i
    }
  }

  /// The connectivity of any linear or affine channel map, measured: `map` runs once on a
  /// batch of `inputChannels + 1` inputs `[N, C_in, spatial...]` of ones in one channel
  /// (sample i lights channel i; the last sample is all zeros), and output o counts as
  /// seeing input i when sample i's output channel o differs from the all-zero sample's.
  ///
  /// With random weights a connection cancels out only with probability zero, so this is
  /// the map's true reachability: a check on the boolean product of the parts.
  ///
  /// - Throws: what `map` throws; `ConvolutionError.shapeMismatch` when its output is not a
  ///   batch of `inputChannels + 1`.
  public static func probing(
    inputChannels: Int, spatialShape: [Int] = [1, 1], through map: (Tensor) throws -> Tensor
  ) throws -> ChannelConnectivity {
    let plane = spatialShape.reduce(1, *)
    var scalars = [Float](repeating: 0, count: (inputChannels + 1) * inputChannels * plane)
    for i in 0..<inputChannels {
      let start = (i * inputChannels + i) * plane
      for p in 0..<plane { scalars[start + p] = 1 }
    }
    let output = try map(
      try Tensor(shape: [inputChannels + 1, inputChannels] + spatialShape, scalars: scalars))
    guard output.rank >= 2, output.shape[0] == inputChannels + 1 else {
      throw ConvolutionError.shapeMismatch(
        operation: "ChannelConnectivity.probing", name: "output", shape: output.shape,
        expected: [inputChannels + 1, -1])
    }
    let (outputs, outputPlane) = (output.shape[1], output.shape[2...].reduce(1, *))
    let sample = outputs * outputPlane
    let baseline = output.scalars[(inputChannels * sample)...]
    return try ChannelConnectivity(outputChannels: outputs, inputChannels: inputChannels) {
      o, i in
      let start = i * sample + o * outputPlane
      return (0..<outputPlane).contains { p in
        output.scalars[start + p] != baseline[baseline.startIndex + o * outputPlane + p]
      }
    }
  }

  /// Whether output channel `output` sees input channel `input`.
  public subscript(output: Int, input: Int) -> Bool {
    precondition(output >= 0 && output < outputChannels && input >= 0 && input < inputChannels)
    return connected[output * inputChannels + input]
  }

  /// This map followed by `next`: the boolean matrix product `next × self`. Output o of
  /// `next` sees input i of `self` when some channel j links them (`next[o, j] && self[j, i]`).
  ///
  /// - Throws: `ConvolutionError.shapeMismatch` when `next` does not read `outputChannels`
  ///   channels.
  public func followed(by next: ChannelConnectivity) throws(ConvolutionError)
    -> ChannelConnectivity
  {
    guard next.inputChannels == outputChannels else {
      throw .shapeMismatch(
        operation: "ChannelConnectivity.followed(by:)", name: "next connectivity",
        shape: [next.outputChannels, next.inputChannels],
        expected: [next.outputChannels, outputChannels])
    }
    // Rows of `self` packed 64 columns to a word, so a row of the product is an OR of rows.
    let words = (inputChannels + 63) / 64
    var rows = [UInt64](repeating: 0, count: outputChannels * words)
    for j in 0..<outputChannels {
      for i in 0..<inputChannels where connected[j * inputChannels + i] {
        rows[j * words + i / 64] |= 1 << UInt64(i % 64)
      }
    }
    var product = [Bool](repeating: false, count: next.outputChannels * inputChannels)
    var row = [UInt64](repeating: 0, count: words)
    for o in 0..<next.outputChannels {
      for w in 0..<words { row[w] = 0 }
      for j in 0..<outputChannels where next.connected[o * outputChannels + j] {
        for w in 0..<words { row[w] |= rows[j * words + w] }
      }
      for i in 0..<inputChannels {
        product[o * inputChannels + i] = (row[i / 64] >> UInt64(i % 64)) & 1 != 0
      }
    }
    return ChannelConnectivity(
      validOutputChannels: next.outputChannels, inputChannels: inputChannels, entries: product)
  }

  private init(validOutputChannels: Int, inputChannels: Int, entries: [Bool]) {
    outputChannels = validOutputChannels
    self.inputChannels = inputChannels
    connected = entries
  }

  /// The number of connected (output, input) pairs.
  public var connectionCount: Int { connected.count(where: { $0 }) }

  /// The connected fraction of all pairs: 1 for dense, `1 / groups` for grouped.
  public var density: Double {
    connected.isEmpty ? 0 : Double(connectionCount) / Double(connected.count)
  }

  /// The input channels that output channel `output` sees, in order.
  public func inputs(seenBy output: Int) -> [Int] {
    (0..<inputChannels).filter { self[output, $0] }
  }

  /// The input groups (of `groups` equal, consecutive blocks of input channels) that output
  /// channel `output` sees at least one channel of.
  public func inputGroups(seenBy output: Int, groups: Int) -> [Int] {
    precondition(groups > 0 && inputChannels % groups == 0)
    let perGroup = inputChannels / groups
    return (0..<groups).filter { g in
      (g * perGroup..<(g + 1) * perGroup).contains { self[output, $0] }
    }
  }

  /// The connected fraction of the block of outputs `outputs` × inputs `inputs`: what one
  /// cell of a scaled-down drawing shows.
  public func density(outputs: Range<Int>, inputs: Range<Int>) -> Double {
    let cells = outputs.count * inputs.count
    guard cells > 0 else { return 0 }
    var count = 0
    for o in outputs { for i in inputs where self[o, i] { count += 1 } }
    return Double(count) / Double(cells)
  }

  /// One line per output channel, `#` for a connection and `.` for none.
  public var description: String {
    (0..<outputChannels).map { o in
      String((0..<inputChannels).map { self[o, $0] ? "#" : "." })
    }.joined(separator: "\n")
  }
}
