import Foundation
import GroupConv

/// A variant built as GroupConv layers with seeded weights: what explain draws, checks and
/// times.
enum ExplainModel {
  case convolution(Conv2d)
  case separable(DepthwiseSeparableConv2d)

  init(_ variant: ExplainVariant, layer: ExplainLayer, seed: UInt64) throws {
    let padding = Padding.explicit([layer.padding])
    switch variant.kind {
    case .separable:
      self = .separable(
        try DepthwiseSeparableConv2d(
          inChannels: layer.inputChannels, outChannels: layer.outputChannels,
          kernelSize: PerDimension([layer.kernel]), padding: padding, seed: seed))
    default:
      self = .convolution(
        try Conv2d(
          inChannels: layer.inputChannels, outChannels: layer.outputChannels,
          kernelSize: PerDimension([layer.kernel]), padding: padding, groups: variant.groups,
          seed: seed))
    }
  }

  func forward(_ x: Tensor) throws -> Tensor {
    switch self {
    case .convolution(let conv): try conv(x)
    case .separable(let block): try block(x)
    }
  }

  /// Backpropagates `dy` and forgets the accumulated parameter gradients.
  func backward(_ dy: Tensor, input x: Tensor) throws {
    switch self {
    case .convolution(let conv):
      _ = try conv.backward(dy, input: x)
      conv.zeroGrad()
    case .separable(let block):
      _ = try block.backward(dy, input: x)
      block.zeroGrad()
    }
  }

  /// The weight and bias of the one dense convolution this variant equals:
  /// `expandGroupedWeight` of a grouped weight, `composeSeparable` of the separable pair.
  func denseEquivalent() throws -> (weight: Tensor, bias: Tensor?) {
    switch self {
    case .convolution(let conv):
      (try expandGroupedWeight(conv.weight, groups: conv.options.groups), conv.bias)
    case .separable(let block):
      try composeSeparable(
        depthwise: block.depthwise.weight, depthwiseBias: block.depthwise.bias,
        pointwise: block.pointwise.weight, pointwiseBias: block.pointwise.bias,
        channels: block.depthwise.inChannels)
    }
  }
}

/// A weight seen as a matrix of channels: rows are output channels, columns input channels,
/// each entry the norm of that pair's k×k filter, zero where the pair is not connected.
struct ChannelMatrix: Sendable {
  let title: String
  let connectivity: ChannelConnectivity
  /// Row-major `‖W[o, i, :, :]‖`.
  let norms: [Float]

  /// The matrix of a dense weight `[C_out, C_in, k...]`.
  init(_ title: String, weight: Tensor) throws {
    self.title = title
    connectivity = try ChannelConnectivity(weight: weight)
    let taps = weight.shape[2...].reduce(1, *)
    norms = stride(from: 0, to: weight.count, by: max(1, taps)).map { start in
      weight.scalars[start..<start + taps].reduce(0) { $0 + $1 * $1 }.squareRoot()
    }
  }

  /// A matrix that shows connections only: entries 1 or 0.
  init(_ title: String, connectivity: ChannelConnectivity) {
    self.title = title
    self.connectivity = connectivity
    norms = connectivity.connected.map { $0 ? 1 : 0 }
  }

  var rows: Int { connectivity.outputChannels }
  var columns: Int { connectivity.inputChannels }
}

/// One equivalence checked on random data, with the largest absolute difference found.
struct ExplainEquivalence: Sendable {
  let claim: String
  let maxDifference: Float
  /// Below float32 rounding for sums of this length.
  var holds: Bool { maxDifference <= 1e-4 }
}

/// Two stacked grouped 1×1 layers without and with a channel shuffle between them.
struct ExplainShuffle: Sendable {
  let groups: Int
  let first: ChannelMatrix
  let shuffle: ChannelMatrix
  let second: ChannelMatrix
  let stacked: ChannelConnectivity
  let shuffled: ChannelConnectivity
  /// Whether probing the real layers gave the boolean products.
  let probingAgrees: Bool

  /// The fewest and most input groups of the first layer an output of the second sees.
  func groupsSeen(_ connectivity: ChannelConnectivity) -> ClosedRange<Int> {
    let counts = (0..<connectivity.outputChannels).map {
      connectivity.inputGroups(seenBy: $0, groups: groups).count
    }
    return (counts.min() ?? 0)...(counts.max() ?? 0)
  }

  /// The fewest and most input channels of the first layer an output of the second sees.
  func channelsSeen(_ connectivity: ChannelConnectivity) -> ClosedRange<Int> {
    let counts = (0..<connectivity.outputChannels).map { connectivity.inputs(seenBy: $0).count }
    return (counts.min() ?? 0)...(counts.max() ?? 0)
  }
}

/// Everything explain shows but the timings: the layer, its variants' pictures, the
/// equivalences and the channel shuffle, derived from real weights.
struct ExplainReport {
  let layer: ExplainLayer
  /// A matrix per variant, of its dense equivalent weight.
  let matrices: [ChannelMatrix]
  /// The separable block: depthwise stage, pointwise stage, composite.
  let separableStages: [ChannelMatrix]
  let equivalences: [ExplainEquivalence]
  /// The small input the equivalences ran on.
  let checkShape: [Int]
  let shuffle: ExplainShuffle?
  let models: [ExplainModel]

  init(_ layer: ExplainLayer) throws {
    self.layer = layer
    models = try layer.variants.enumerated().map { index, variant in
      try ExplainModel(variant, layer: layer, seed: UInt64(index + 1))
    }
    var matrices: [ChannelMatrix] = []
    var stages: [ChannelMatrix] = []
    for (variant, model) in zip(layer.variants, models) {
      let dense = try model.denseEquivalent()
      matrices.append(try ChannelMatrix(variant.name, weight: dense.weight))
      if case .separable(let block) = model {
        stages = [
          try ChannelMatrix(
            "depthwise \(layer.kernelText)",
            weight: try expandGroupedWeight(block.depthwise.weight, groups: layer.inputChannels)),
          try ChannelMatrix("pointwise 1×1", weight: block.pointwise.weight),
          try ChannelMatrix("composite \(layer.kernelText)", weight: dense.weight),
        ]
      }
    }
    self.matrices = matrices
    separableStages = stages
    let size = { (extent: Int) in min(extent, max(8, layer.kernel)) }
    checkShape = [2, layer.inputChannels, size(layer.height), size(layer.width)]
    equivalences = try Self.equivalences(layer, models, shape: checkShape)
    shuffle = try Self.shuffle(layer)
  }

  // MARK: - Equivalences

  static func equivalences(_ layer: ExplainLayer, _ models: [ExplainModel], shape: [Int])
    throws -> [ExplainEquivalence]
  {
    let x = try Tensor.random(shape: shape, seed: 7)
    let padding = Padding.explicit([layer.padding])
    var checks: [ExplainEquivalence] = []
    for (variant, model) in zip(layer.variants, models) where variant.kind != .dense {
      let dense = try model.denseEquivalent()
      let viaDense = try conv2d(x, dense.weight, dense.bias, padding: padding)
      guard case .convolution(let conv) = model else {
        let twoStages = try model.forward(x)
        checks.append(
          ExplainEquivalence(
            claim: "depthwise → pointwise == dense conv with W[o,i,:,:] = P[o,i]·D[i,:,:]",
            maxDifference: maxDifference(twoStages, viaDense)))
        continue
      }
      let grouped = try conv2d(x, conv.weight, conv.bias, padding: padding, groups: variant.groups)
      checks.append(
        ExplainEquivalence(
          claim: "\(variant.name) == dense conv with the block-diagonal expanded weight",
          maxDifference: maxDifference(grouped, viaDense)))
      if variant.groups == 2 {
        checks.append(
          ExplainEquivalence(
            claim: "groups 2 == two half convolutions, concatenated",
            maxDifference: maxDifference(grouped, try halves(x, conv, layer))))
      }
    }
    return checks
  }

  /// The groups-2 layer computed as two ordinary convolutions on half the channels each.
  static func halves(_ x: Tensor, _ conv: Conv2d, _ layer: ExplainLayer) throws -> Tensor {
    let (inputs, outputs) = (layer.inputChannels / 2, layer.outputChannels / 2)
    let parts = try (0..<2).map { half in
      try conv2d(
        try channels(x, half * inputs..<(half + 1) * inputs),
        try channels(conv.weight, half * outputs..<(half + 1) * outputs, dimension: 0),
        try conv.bias.map { try channels($0, half * outputs..<(half + 1) * outputs, dimension: 0) },
        padding: .explicit([layer.padding]))
    }
    return try concatenateChannels(parts[0], parts[1])
  }

  /// The slice `range` of dimension `dimension` (1: channels of `[N, C, ...]`).
  static func channels(_ t: Tensor, _ range: Range<Int>, dimension: Int = 1) throws -> Tensor {
    let outer = t.shape[..<dimension].reduce(1, *)
    let inner = t.shape[(dimension + 1)...].reduce(1, *)
    let size = t.shape[dimension]
    var scalars: [Float] = []
    for n in 0..<outer {
      let start = (n * size + range.lowerBound) * inner
      scalars += t.scalars[start..<start + range.count * inner]
    }
    var shape = t.shape
    shape[dimension] = range.count
    return try Tensor(shape: shape, scalars: scalars)
  }

  /// `[N, C1, ...]` and `[N, C2, ...]` joined into `[N, C1 + C2, ...]`.
  static func concatenateChannels(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    let plane = a.shape[2...].reduce(1, *)
    var scalars: [Float] = []
    for n in 0..<a.shape[0] {
      scalars += a.scalars[(n * a.shape[1] * plane)..<((n + 1) * a.shape[1] * plane)]
      scalars += b.scalars[(n * b.shape[1] * plane)..<((n + 1) * b.shape[1] * plane)]
    }
    return try Tensor(
      shape: [a.shape[0], a.shape[1] + b.shape[1]] + a.shape[2...], scalars: scalars)
  }

  static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
    guard a.shape == b.shape else { return .infinity }
    return zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
  }

  // MARK: - Channel shuffle

  /// The groups of the shuffle demonstration: of the grouped variants, the one nearest 4
  /// whose groups a single shuffle can fully mix (`groups² ≤ C_out`); depthwise when no
  /// grouped variant exists; nil when only groups 1 divides the channels.
  static func shuffleGroups(_ layer: ExplainLayer) -> Int? {
    let candidates = layer.groups.isEmpty ? layer.validGroups.filter { $0 > 1 } : layer.groups
    let mixing = candidates.filter { $0 * $0 <= layer.outputChannels }
    let pool = mixing.isEmpty ? candidates : mixing
    return pool.min { abs(log2(Double($0)) - 2) < abs(log2(Double($1)) - 2) }
  }

  static func shuffle(_ layer: ExplainLayer) throws -> ExplainShuffle? {
    guard let g = shuffleGroups(layer) else { return nil }
    let (cIn, cOut) = (layer.inputChannels, layer.outputChannels)
    let first = try Conv2d(inChannels: cIn, outChannels: cOut, kernelSize: 1, groups: g, seed: 11)
    let second = try Conv2d(inChannels: cOut, outChannels: cOut, kernelSize: 1, groups: g, seed: 12)
    let one = try ChannelMatrix(
      "layer 1: 1×1, groups \(g)", weight: try expandGroupedWeight(first.weight, groups: g))
    let two = try ChannelMatrix(
      "layer 2: 1×1, groups \(g)", weight: try expandGroupedWeight(second.weight, groups: g))
    let permutation = try ChannelConnectivity.channelShuffle(channels: cOut, groups: g)
    let stacked = try one.connectivity.followed(by: two.connectivity)
    let shuffled = try one.connectivity.followed(by: permutation).followed(by: two.connectivity)
    let probedStacked = try ChannelConnectivity.probing(inputChannels: cIn) { x in
      try second(first(x))
    }
    let probedShuffled = try ChannelConnectivity.probing(inputChannels: cIn) { x in
      try second(channelShuffle(first(x), groups: g))
    }
    return ExplainShuffle(
      groups: g, first: one, shuffle: ChannelMatrix("shuffle", connectivity: permutation),
      second: two, stacked: stacked, shuffled: shuffled,
      probingAgrees: probedStacked == stacked && probedShuffled == shuffled)
  }
}
