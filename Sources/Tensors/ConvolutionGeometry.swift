/// The checked shape arithmetic of one convolution or transposed convolution.
///
/// It describes the correlation that both directions share:
///
///     y[n, o, p] = sum over (i in o's group, k) of  w[o, i, k] * x[n, i, p * stride + k * dilation - padBegin]
///
/// with `x: [n, xChannels, xSize...]`, `y: [n, yChannels, ySize...]` and
/// `w: [yChannels, xChannels / groups, kernel...]`; reads outside `x` are padding.
/// A convolution maps x to y. A transposed convolution is the input gradient of that
/// convolution: it maps y to x with the same weight, so its input has `yChannels` channels
/// and its output `xChannels`, and its weight `[C_in, C_out / groups, k...]` is exactly `w`.
package struct ConvolutionGeometry: Equatable, Hashable, Sendable {
  package var transposed: Bool
  package var batch: Int
  package var groups: Int
  package var xChannels: Int
  package var yChannels: Int
  package var xSize: [Int]
  package var ySize: [Int]
  package var kernel: [Int]
  package var stride: [Int]
  package var dilation: [Int]
  package var padBegin: [Int]
  package var padEnd: [Int]
  package var paddingMode: PaddingMode
  package var hasBias: Bool

  package init(
    transposed: Bool, batch: Int, groups: Int, xChannels: Int, yChannels: Int, xSize: [Int],
    ySize: [Int], kernel: [Int], stride: [Int], dilation: [Int], padBegin: [Int],
    padEnd: [Int], paddingMode: PaddingMode = .zeros, hasBias: Bool
  ) {
    self.transposed = transposed
    self.batch = batch
    self.groups = groups
    self.xChannels = xChannels
    self.yChannels = yChannels
    self.xSize = xSize
    self.ySize = ySize
    self.kernel = kernel
    self.stride = stride
    self.dilation = dilation
    self.padBegin = padBegin
    self.padEnd = padEnd
    self.paddingMode = paddingMode
    self.hasBias = hasBias
  }

  package var spatialRank: Int { kernel.count }
  package var operation: String { Self.operation(spatialRank: spatialRank, transposed: transposed) }
  package var xShape: [Int] { [batch, xChannels] + xSize }
  package var yShape: [Int] { [batch, yChannels] + ySize }
  package var weightShape: [Int] { [yChannels, xChannels / groups] + kernel }
  /// The shape of the tensor the operation takes.
  package var inputShape: [Int] { transposed ? yShape : xShape }
  /// The shape of the tensor the operation returns.
  package var outputShape: [Int] { transposed ? xShape : yShape }
  /// The number of channels the bias adds to: the output's.
  package var outputChannels: Int { transposed ? xChannels : yChannels }

  /// The same correlation reading an input that already holds its padding: `xSize` grows by
  /// the padding, which becomes zero.
  package var explicitlyPadded: ConvolutionGeometry {
    var padded = self
    padded.xSize = (0..<spatialRank).map { xSize[$0] + padBegin[$0] + padEnd[$0] }
    padded.padBegin = Array(repeating: 0, count: spatialRank)
    padded.padEnd = padded.padBegin
    padded.paddingMode = .zeros
    return padded
  }

  /// The multiply-adds of one pass (forward, input gradient or weight gradient alike).
  package var multiplyAdds: Int {
    batch * yChannels * ySize.reduce(1, *) * (xChannels / groups) * kernel.reduce(1, *)
  }

  package static func operation(spatialRank: Int, transposed: Bool) -> String {
    (transposed ? "conv_transpose" : "conv") + "\(spatialRank)d"
  }
}

// MARK: - Validation

extension ConvolutionGeometry {
  /// Checks a convolution's arguments against its tensors' shapes, as PyTorch does.
  ///
  /// - Parameters:
  ///   - inputShape: `[N, C_in, spatial...]` with 1, 2 or 3 spatial dimensions.
  ///   - weightShape: `[C_out, C_in / groups, k...]`, or for a transposed convolution
  ///     `[C_in, C_out / groups, k...]`.
  ///   - biasShape: `[C_out]`, or `nil` without bias.
  ///   - operation: the name used in messages; by default `conv2d`, `conv_transpose1d`, ...
  /// - Throws: `ConvolutionError` naming the first broken rule.
  package init(
    inputShape: [Int], weightShape: [Int], biasShape: [Int]?, options: ConvolutionOptions,
    operation name: String? = nil
  ) throws(ConvolutionError) {
    let transposed = options.transposed
    let rank = inputShape.count
    let spatialRank = rank - 2
    let operation =
      name ?? Self.operation(spatialRank: max(1, min(3, spatialRank)), transposed: transposed)
    guard (3...5).contains(rank) else {
      throw .inputRank(operation: operation, shape: inputShape, expectedRank: nil)
    }
    guard weightShape.count == rank else {
      throw .weightRank(operation: operation, weightShape: weightShape, inputShape: inputShape)
    }
    let checked = try Self.checkOptions(options, spatialRank: spatialRank, operation: operation)
    let (stride, dilation, outputPadding) = (checked.stride, checked.dilation, checked.outputPadding)
    let kernel = Array(weightShape[2...])
    guard kernel.allSatisfy({ $0 > 0 }) else {
      throw .emptyKernel(operation: operation, weightShape: weightShape)
    }
    for (argument, shape) in [("input size", inputShape), ("weight size", weightShape)]
    where shape.contains(where: { $0 < 0 }) {
      throw .negativeSize(operation: operation, name: argument, shape: shape)
    }
    // Bounded values keep the shape arithmetic below from overflowing.
    let limit = ConvolutionError.maximumExtent
    for (argument, values) in [("input size", inputShape), ("weight size", weightShape)]
    where values.contains(where: { $0 > limit }) {
      throw .argumentTooLarge(operation: operation, name: argument, values: values)
    }

    // Channels and groups.
    let groups = options.groups
    let inputChannels = inputShape[1]
    let (xChannels, yChannels): (Int, Int)
    let outputChannels: Int
    if transposed {
      outputChannels = weightShape[1] * groups
      (xChannels, yChannels) = (outputChannels, weightShape[0])
      if weightShape[0] != inputChannels {
        throw .weightChannelsMismatch(
          operation: operation, groups: groups, transposed: true, weightShape: weightShape,
          inputShape: inputShape, expectedChannels: weightShape[0])
      }
      if inputChannels % groups != 0 {
        throw .channelsNotDivisibleByGroups(
          operation: operation, role: .input, channels: inputChannels, groups: groups,
          inputChannels: inputChannels, outputChannels: outputChannels)
      }
    } else {
      outputChannels = weightShape[0]
      (xChannels, yChannels) = (inputChannels, outputChannels)
      if inputChannels % groups != 0 {
        throw .channelsNotDivisibleByGroups(
          operation: operation, role: .input, channels: inputChannels, groups: groups,
          inputChannels: inputChannels, outputChannels: outputChannels)
      }
      if outputChannels % groups != 0 {
        throw .channelsNotDivisibleByGroups(
          operation: operation, role: .output, channels: outputChannels, groups: groups,
          inputChannels: inputChannels, outputChannels: outputChannels)
      }
      if weightShape[1] * groups != inputChannels {
        throw .weightChannelsMismatch(
          operation: operation, groups: groups, transposed: false, weightShape: weightShape,
          inputShape: inputShape, expectedChannels: weightShape[1] * groups)
      }
    }
    if let biasShape, biasShape != [outputChannels] {
      throw .biasShape(
        operation: operation, biasShape: biasShape, weightShape: weightShape,
        outputChannels: outputChannels, transposed: transposed)
    }

    // Padding.
    let dilatedKernel = (0..<spatialRank).map { dilation[$0] * (kernel[$0] - 1) + 1 }
    let padBegin: [Int]
    let padEnd: [Int]
    switch options.padding {
    case .same:
      padBegin = dilatedKernel.map { ($0 - 1) / 2 }
      padEnd = (0..<spatialRank).map { dilatedKernel[$0] - 1 - padBegin[$0] }
    case .valid:
      padBegin = Array(repeating: 0, count: spatialRank)
      padEnd = padBegin
    case .explicit:
      let none = [Int](repeating: 0, count: spatialRank)
      (padBegin, padEnd) = checked.pads ?? (none, none)  // always set for .explicit
    }

    // Spatial sizes.
    let spatial = Array(inputShape[2...])
    guard spatial.allSatisfy({ $0 > 0 }) else {
      throw .emptySpatialInput(operation: operation, shape: inputShape)
    }
    let xSize: [Int]
    let ySize: [Int]
    if transposed {
      ySize = spatial
      xSize = (0..<spatialRank).map {
        (spatial[$0] - 1) * stride[$0] - padBegin[$0] - padEnd[$0] + dilatedKernel[$0]
          + outputPadding[$0]
      }
      guard xSize.allSatisfy({ $0 > 0 }) else {
        throw .outputSizeTooSmall(operation: operation, inputSize: spatial, outputSize: xSize)
      }
    } else {
      xSize = spatial
      let padded = (0..<spatialRank).map { spatial[$0] + padBegin[$0] + padEnd[$0] }
      guard (0..<spatialRank).allSatisfy({ padded[$0] >= dilatedKernel[$0] }) else {
        throw .kernelLargerThanInput(
          operation: operation, paddedInputSize: padded, dilatedKernelSize: dilatedKernel)
      }
      ySize = (0..<spatialRank).map { (padded[$0] - dilatedKernel[$0]) / stride[$0] + 1 }
      try Self.checkPaddingFits(
        options.paddingMode, begin: padBegin, end: padEnd, size: spatial, operation: operation)
    }
    for (role, shape) in [
      ("input", inputShape), ("output", [inputShape[0], transposed ? xChannels : yChannels]
        + (transposed ? xSize : ySize)), ("weight", weightShape),
    ] {
      guard let count = try? Tensor.elementCount(of: shape),
        count <= ConvolutionError.maximumElementCount
      else { throw .tooLarge(operation: operation, name: role, shape: shape) }
    }
    self.init(
      transposed: transposed, batch: inputShape[0], groups: groups, xChannels: xChannels,
      yChannels: yChannels, xSize: xSize, ySize: ySize, kernel: kernel, stride: stride,
      dilation: dilation, padBegin: padBegin, padEnd: padEnd, paddingMode: options.paddingMode,
      hasBias: biasShape != nil)
  }

  /// The arguments of `options` resolved for `spatialRank` dimensions and checked against
  /// every rule that does not depend on the tensors' sizes.
  package struct CheckedOptions: Sendable {
    package var stride: [Int]
    package var dilation: [Int]
    package var outputPadding: [Int]
    /// Begin and end paddings for `.explicit` padding; nil for `.same` and `.valid`.
    package var pads: (begin: [Int], end: [Int])?
  }

  /// Checks the rules of `options` that hold whatever the tensors' sizes: value counts,
  /// signs and limits, `same` with strides, and the transposed convolution's restrictions.
  ///
  /// - Throws: `ConvolutionError` naming the first broken rule.
  package static func checkOptions(
    _ options: ConvolutionOptions, spatialRank: Int, operation: String
  ) throws(ConvolutionError) -> CheckedOptions {
    func perDimension(_ value: PerDimension, _ argument: String) throws(ConvolutionError) -> [Int] {
      guard let values = value.resolved(spatialRank: spatialRank) else {
        throw .argumentCount(
          operation: operation, name: argument, values: value.values, spatialRank: spatialRank)
      }
      return values
    }
    let stride = try perDimension(options.stride, "stride")
    let dilation = try perDimension(options.dilation, "dilation")
    let outputPadding = try perDimension(options.outputPadding, "output_padding")
    guard stride.allSatisfy({ $0 > 0 }) else {
      throw .nonPositiveStride(operation: operation, stride: stride)
    }
    guard dilation.allSatisfy({ $0 > 0 }) else {
      throw .nonPositiveDilation(operation: operation, dilation: dilation)
    }
    guard options.groups > 0 else {
      throw .nonPositiveGroups(operation: operation, groups: options.groups)
    }
    if case .explicit(let values) = options.padding, values.contains(where: { $0 < 0 }) {
      throw .negativePadding(operation: operation, padding: values)
    }
    guard outputPadding.allSatisfy({ $0 >= 0 }) else {
      throw .negativeOutputPadding(operation: operation, outputPadding: outputPadding)
    }
    // Bounded values keep the shape arithmetic from overflowing.
    let limit = ConvolutionError.maximumExtent
    for (argument, values) in [
      ("stride", stride), ("dilation", dilation), ("output_padding", outputPadding),
    ] where values.contains(where: { $0 > limit }) {
      throw .argumentTooLarge(operation: operation, name: argument, values: values)
    }
    var pads: (begin: [Int], end: [Int])?
    switch options.padding {
    case .same:
      if options.transposed {
        throw .namedPaddingForTransposed(operation: operation, padding: options.padding)
      }
      guard stride.allSatisfy({ $0 == 1 }) else {
        throw .sameWithStride(operation: operation, stride: stride)
      }
    case .valid:
      if options.transposed {
        throw .namedPaddingForTransposed(operation: operation, padding: options.padding)
      }
    case .explicit(let values):
      if values.contains(where: { $0 > limit }) {
        throw .argumentTooLarge(operation: operation, name: "padding", values: values)
      }
      guard let explicit = options.padding.explicitPads(spatialRank: spatialRank) else {
        throw .argumentCount(
          operation: operation, name: "padding", values: values, spatialRank: spatialRank)
      }
      pads = explicit
    }
    if options.transposed && options.paddingMode != .zeros {
      throw .paddingModeForTransposed(operation: operation, mode: options.paddingMode)
    }
    if !options.transposed && outputPadding.contains(where: { $0 != 0 }) {
      throw .outputPaddingWithoutTransposed(operation: operation, outputPadding: outputPadding)
    }
    if options.transposed {
      for d in 0..<spatialRank
      where outputPadding[d] >= stride[d] && outputPadding[d] >= dilation[d] {
        throw .outputPaddingTooLarge(
          operation: operation, outputPadding: outputPadding, stride: stride, dilation: dilation)
      }
    }
    return CheckedOptions(
      stride: stride, dilation: dilation, outputPadding: outputPadding, pads: pads)
  }

  /// Checks that reflect or circular padding can be taken from an input of `size`.
  private static func checkPaddingFits(
    _ mode: PaddingMode, begin: [Int], end: [Int], size: [Int], operation: String
  ) throws(ConvolutionError) {
    for d in 0..<size.count where begin[d] > 0 || end[d] > 0 {
      let fits =
        switch mode {
        case .zeros: true
        case .reflect: begin[d] < size[d] && end[d] < size[d]
        case .circular: begin[d] <= size[d] && end[d] <= size[d]
        case .replicate: size[d] > 0
        }
      guard fits else {
        throw .paddingTooWide(
          operation: operation, mode: mode, dimension: d, begin: begin[d], end: end[d],
          inputSize: size[d])
      }
    }
  }
}
