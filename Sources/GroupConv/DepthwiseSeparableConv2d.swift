import Tensors

/// A depthwise-separable 2-D convolution: a k×k depthwise convolution (`groups = inChannels`,
/// each input channel filtered on its own into `depthMultiplier` channels), then a 1×1
/// convolution that mixes the channels. The block of MobileNet and Xception.
///
/// It equals one dense k×k convolution whose weight is
/// `W[o, i, :, :] = pointwise[o, i] * depthwise[i, :, :]` (for multiplier 1), at a fraction
/// of its parameters and multiply-adds.
///
/// ```swift
/// let block = try DepthwiseSeparableConv2d(inChannels: 32, outChannels: 64, kernelSize: 3,
///                                          padding: 1)
/// let y = try block(x)   // [N, 32, H, W] → [N, 64, H, W]
/// ```
public final class DepthwiseSeparableConv2d {
  /// The k×k convolution with `groups = inChannels`: `[N, C_in, H, W]` → `[N, m·C_in, H', W']`.
  public let depthwise: Conv2d
  /// The 1×1 convolution: `[N, m·C_in, H', W']` → `[N, C_out, H', W']`.
  public let pointwise: Conv2d

  /// - Parameters:
  ///   - inChannels: channels of the input, and the depthwise stage's groups.
  ///   - outChannels: channels of the output, mixed by the 1×1 stage.
  ///   - kernelSize: the depthwise stage's kernel.
  ///   - stride: the depthwise stage's stride.
  ///   - padding: the depthwise stage's padding.
  ///   - dilation: the depthwise stage's dilation.
  ///   - depthMultiplier: output channels of the depthwise stage per input channel.
  ///   - bias: whether both stages add a bias.
  ///   - paddingMode: the depthwise stage's padding mode.
  ///   - seed: seeds both stages' initialisation; the default generator when nil.
  /// - Throws: `ConvolutionError` for arguments either stage refuses.
  public init(
    inChannels: Int, outChannels: Int, kernelSize: PerDimension, stride: PerDimension = 1,
    padding: Padding = 0, dilation: PerDimension = 1, depthMultiplier: Int = 1,
    bias: Bool = true, paddingMode: PaddingMode = .zeros, seed: UInt64? = nil
  ) throws(ConvolutionError) {
    guard depthMultiplier > 0 else {
      throw .nonPositiveArgument(
        operation: "DepthwiseSeparableConv2d", name: "depth_multiplier", values: [depthMultiplier])
    }
    let (hidden, overflow) = inChannels.multipliedReportingOverflow(by: depthMultiplier)
    guard !overflow else {
      throw .argumentTooLarge(
        operation: "DepthwiseSeparableConv2d", name: "in_channels × depth_multiplier",
        values: [inChannels, depthMultiplier])
    }
    var seeds = seed.map { SeededGenerator(seed: $0) }
    depthwise = try Conv2d(
      inChannels: inChannels, outChannels: hidden, kernelSize: kernelSize, stride: stride,
      padding: padding, dilation: dilation, groups: max(1, inChannels), bias: bias,
      paddingMode: paddingMode, seed: seeds?.next())
    pointwise = try Conv2d(
      inChannels: hidden, outChannels: outChannels, kernelSize: 1, bias: bias,
      seed: seeds?.next())
  }

  /// `pointwise(depthwise(input))`.
  public func forward(_ input: Tensor) throws(ConvolutionError) -> Tensor {
    try pointwise(depthwise(input))
  }

  /// `forward(input)`.
  public func callAsFunction(_ input: Tensor) throws(ConvolutionError) -> Tensor {
    try forward(input)
  }

  /// Backpropagates through both stages: returns the input's gradient and accumulates the
  /// parameters' gradients in `depthwise` and `pointwise`.
  public func backward(_ gradOutput: Tensor, input: Tensor) throws(ConvolutionError) -> Tensor {
    let hidden = try depthwise(input)
    let gradHidden = try pointwise.backward(gradOutput, input: hidden)
    return try depthwise.backward(gradHidden, input: input)
  }

  /// Forgets both stages' accumulated gradients.
  public func zeroGrad() {
    depthwise.zeroGrad()
    pointwise.zeroGrad()
  }

  /// The number of weights and biases of both stages.
  public var parameterCount: Int { depthwise.parameterCount + pointwise.parameterCount }
}
