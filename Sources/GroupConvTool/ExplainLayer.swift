import GroupConv

/// The layer `groupconv explain` explains and the variants it compares, checked once:
/// dense, the grouped variants asked for, depthwise (when the output channels are a multiple
/// of the input channels) and depthwise-separable. All are 2-D, stride 1.
struct ExplainLayer: Sendable {
  let inputChannels: Int
  let outputChannels: Int
  let kernel: Int
  let padding: Int
  let batch: Int
  let height: Int
  let width: Int
  /// The grouped variants strictly between dense and depthwise, ascending.
  let groups: [Int]
  /// Dense first, then grouped, depthwise and separable.
  let variants: [ExplainVariant]

  /// The grouped variants shown when `--groups` is not given, where they are valid.
  static let defaultGroups = [2, 4, 8, 32]
  /// Explain builds and runs every variant: more channels than this are refused.
  static let maximumChannels = 4096
  /// ... and tensors with more elements than this (256 MB of float32).
  static let maximumElements = 1 << 26

  /// - Parameters:
  ///   - padding: zeros on each side; `kernel / 2` (the size kept, for odd kernels) when nil.
  ///   - groups: the grouped variants asked for; each must divide both channel counts.
  ///     `nil` shows those of `defaultGroups` that do.
  /// - Throws: the engine's `ConvolutionError` for what a `Conv2d` or its input would break;
  ///   `ExplainError` for a layer too large to run here.
  init(
    inputChannels: Int, outputChannels: Int, kernel: Int, padding: Int?, batch: Int,
    height: Int, width: Int, groups requested: [Int]?
  ) throws {
    let layer = "Conv2d"
    for (name, value) in [("in_channels", inputChannels), ("out_channels", outputChannels)] {
      guard value > 0 else {
        throw ConvolutionError.nonPositiveArgument(operation: layer, name: name, values: [value])
      }
      guard value <= Self.maximumChannels else {
        throw ExplainError(
          "explain: \(name) \(value) is too large: explain builds and runs every variant and "
            + "takes at most \(Self.maximumChannels) channels")
      }
    }
    for g in requested ?? [] {
      try Self.checkGroups(g, inputChannels: inputChannels, outputChannels: outputChannels)
    }
    guard kernel > 0 else {
      throw ConvolutionError.nonPositiveArgument(
        operation: layer, name: "kernel_size", values: [kernel, kernel])
    }
    guard batch > 0 else {
      throw ConvolutionError.nonPositiveArgument(
        operation: "explain", name: "batch", values: [batch])
    }
    self.inputChannels = inputChannels
    self.outputChannels = outputChannels
    self.kernel = kernel
    self.padding = padding ?? kernel / 2
    self.batch = batch
    self.height = height
    self.width = width

    let valid = ConvolutionError.validGroups(
      inputChannels: inputChannels, outputChannels: outputChannels)
    let asked = requested ?? Self.defaultGroups.filter(valid.contains)
    self.groups = Set(asked).filter { $0 > 1 && $0 < inputChannels }.sorted()

    let dense = try Self.convolution(
      inputChannels, outputChannels, kernel, self.padding, 1, [batch, inputChannels, height, width])
    for (name, shape) in [
      ("input", dense.inputShape), ("output", dense.outputShape),
      ("dense weight", dense.weightShape),
    ] where shape.reduce(1, *) > Self.maximumElements {
      throw ExplainError(
        "explain: the \(name) \(shape) has \(shape.reduce(1, *)) elements; explain runs every "
          + "variant and allows at most \(Self.maximumElements) per tensor")
    }
    var variants = [ExplainVariant(kind: .dense, name: "dense", groups: 1, stages: [dense])]
    for g in self.groups {
      variants.append(
        ExplainVariant(
          kind: .grouped(g), name: "groups \(g)", groups: g,
          stages: [
            try Self.convolution(
              inputChannels, outputChannels, kernel, self.padding, g, dense.inputShape)
          ]))
    }
    if outputChannels % inputChannels == 0 {
      let multiplier = outputChannels / inputChannels
      variants.append(
        ExplainVariant(
          kind: .depthwise(multiplier: multiplier),
          name: multiplier == 1 ? "depthwise" : "depthwise ×\(multiplier)", groups: inputChannels,
          stages: [
            try Self.convolution(
              inputChannels, outputChannels, kernel, self.padding, inputChannels,
              dense.inputShape)
          ]))
    }
    let spatial = try Self.convolution(
      inputChannels, inputChannels, kernel, self.padding, inputChannels, dense.inputShape)
    let pointwise = try Self.convolution(
      inputChannels, outputChannels, 1, 0, 1, spatial.outputShape)
    variants.append(
      ExplainVariant(
        kind: .separable, name: "separable", groups: inputChannels, stages: [spatial, pointwise]))
    self.variants = variants
  }

  /// `C_out / C_in` when depthwise is possible (the output channels a multiple of the input
  /// channels), else nil.
  var depthwiseMultiplier: Int? {
    outputChannels % inputChannels == 0 ? outputChannels / inputChannels : nil
  }

  var inputShape: [Int] { variants[0].stages[0].inputShape }
  var outputShape: [Int] { variants[0].stages[0].outputShape }
  var dense: ExplainVariant { variants[0] }

  /// "3×3".
  var kernelText: String { "\(kernel)×\(kernel)" }

  /// The groups that divide both channel counts.
  var validGroups: [Int] {
    ConvolutionError.validGroups(inputChannels: inputChannels, outputChannels: outputChannels)
  }

  /// Refuses `groups` as `Conv2d` does: positive, dividing both channel counts.
  static func checkGroups(_ groups: Int, inputChannels: Int, outputChannels: Int) throws {
    guard groups > 0 else {
      throw ConvolutionError.nonPositiveGroups(operation: "Conv2d", groups: groups)
    }
    for (role, channels) in [
      (ConvolutionError.ChannelRole.input, inputChannels), (.output, outputChannels),
    ] where channels % groups != 0 {
      throw ConvolutionError.channelsNotDivisibleByGroups(
        operation: "Conv2d", role: role, channels: channels, groups: groups,
        inputChannels: inputChannels, outputChannels: outputChannels)
    }
  }

  /// The checked 2-D convolution `inputs → outputs` with a k×k kernel, bias, and `groups`.
  static func convolution(
    _ inputs: Int, _ outputs: Int, _ kernel: Int, _ padding: Int, _ groups: Int,
    _ inputShape: [Int]
  ) throws -> Convolution {
    try Convolution(
      inputShape: inputShape, weightShape: [outputs, inputs / groups, kernel, kernel],
      biasShape: [outputs],
      options: ConvolutionOptions(padding: .explicit([padding]), groups: groups),
      operation: "Conv2d")
  }
}

/// One way of building the layer.
enum ExplainVariantKind: Hashable, Sendable {
  case dense
  case grouped(Int)
  case depthwise(multiplier: Int)
  /// k×k depthwise (multiplier 1), then 1×1 dense.
  case separable
}

/// A variant of the layer: one convolution, or the separable block's two.
struct ExplainVariant: Sendable {
  let kind: ExplainVariantKind
  /// "dense", "groups 4", "depthwise ×2", "separable".
  let name: String
  /// The `groups` of its (first) convolution.
  let groups: Int
  let stages: [Convolution]

  /// What one forward pass costs, both stages together for the separable block.
  var cost: ExplainCost { ExplainCost(stages.map(ConvolutionCost.init)) }

  /// "[128, 16, 3, 3]", or the two stages' weights joined by "+".
  var weightText: String {
    stages.map { "[" + $0.weightShape.map(String.init).joined(separator: ",") + "]" }
      .joined(separator: "+")
  }
}

/// The cost figures of a variant, summed over its stages: the separable block's hidden
/// activations are written by the first stage and read by the second, so they count twice.
struct ExplainCost: Equatable, Sendable {
  var parameters: Int
  var multiplyAdds: Int
  /// Bytes of activations read and written (float32).
  var activationBytes: Int
  /// Bytes of weights and biases (float32).
  var weightBytes: Int

  init(parameters: Int, multiplyAdds: Int, activationBytes: Int, weightBytes: Int) {
    self.parameters = parameters
    self.multiplyAdds = multiplyAdds
    self.activationBytes = activationBytes
    self.weightBytes = weightBytes
  }

  init(_ stages: [ConvolutionCost]) {
    parameters = stages.map(\.parameters).reduce(0, +)
    multiplyAdds = stages.map(\.multiplyAdds).reduce(0, +)
    activationBytes = stages.map { $0.inputBytes + $0.outputBytes }.reduce(0, +)
    weightBytes = stages.map(\.weightBytes).reduce(0, +)
  }

  var flops: Int { 2 * multiplyAdds }
  var bytes: Int { activationBytes + weightBytes }
  /// FLOPs per byte of compulsory traffic.
  var arithmeticIntensity: Double { bytes == 0 ? 0 : Double(flops) / Double(bytes) }
}

/// A request `groupconv explain` cannot serve, or a file it cannot write, as one line.
struct ExplainError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
