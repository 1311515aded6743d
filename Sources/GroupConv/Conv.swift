import Tensors

/// A 1-D convolution layer, as `torch.nn.Conv1d`: input `[N, C_in, W]`, weight
/// `[C_out, C_in / groups, kW]`.
public final class Conv1d: ConvolutionLayer {
  /// - Throws: `ConvolutionError` for arguments PyTorch refuses, such as channels that are
  ///   not multiples of `groups`.
  public init(
    inChannels: Int, outChannels: Int, kernelSize: PerDimension, stride: PerDimension = 1,
    padding: Padding = 0, dilation: PerDimension = 1, groups: Int = 1, bias: Bool = true,
    paddingMode: PaddingMode = .zeros, seed: UInt64? = nil
  ) throws(ConvolutionError) {
    try super.init(
      spatialRank: 1, inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize,
      bias: bias,
      options: ConvolutionOptions(
        stride: stride, padding: padding, dilation: dilation, groups: groups,
        paddingMode: paddingMode),
      seed: seed)
  }
}

/// A 2-D convolution layer, as `torch.nn.Conv2d`: input `[N, C_in, H, W]`, weight
/// `[C_out, C_in / groups, kH, kW]`.
///
/// ```swift
/// let depthwise = try Conv2d(inChannels: 32, outChannels: 32, kernelSize: 3, padding: 1,
///                            groups: 32)
/// let y = try depthwise(x)
/// ```
public final class Conv2d: ConvolutionLayer {
  /// - Throws: `ConvolutionError` for arguments PyTorch refuses, such as channels that are
  ///   not multiples of `groups`.
  public init(
    inChannels: Int, outChannels: Int, kernelSize: PerDimension, stride: PerDimension = 1,
    padding: Padding = 0, dilation: PerDimension = 1, groups: Int = 1, bias: Bool = true,
    paddingMode: PaddingMode = .zeros, seed: UInt64? = nil
  ) throws(ConvolutionError) {
    try super.init(
      spatialRank: 2, inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize,
      bias: bias,
      options: ConvolutionOptions(
        stride: stride, padding: padding, dilation: dilation, groups: groups,
        paddingMode: paddingMode),
      seed: seed)
  }
}

/// A 3-D convolution layer, as `torch.nn.Conv3d`: input `[N, C_in, D, H, W]`, weight
/// `[C_out, C_in / groups, kD, kH, kW]`.
public final class Conv3d: ConvolutionLayer {
  /// - Throws: `ConvolutionError` for arguments PyTorch refuses, such as channels that are
  ///   not multiples of `groups`.
  public init(
    inChannels: Int, outChannels: Int, kernelSize: PerDimension, stride: PerDimension = 1,
    padding: Padding = 0, dilation: PerDimension = 1, groups: Int = 1, bias: Bool = true,
    paddingMode: PaddingMode = .zeros, seed: UInt64? = nil
  ) throws(ConvolutionError) {
    try super.init(
      spatialRank: 3, inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize,
      bias: bias,
      options: ConvolutionOptions(
        stride: stride, padding: padding, dilation: dilation, groups: groups,
        paddingMode: paddingMode),
      seed: seed)
  }
}

/// A 1-D transposed convolution layer, as `torch.nn.ConvTranspose1d`: input `[N, C_in, W]`,
/// weight `[C_in, C_out / groups, kW]`.
public final class ConvTranspose1d: ConvolutionLayer {
  /// - Throws: `ConvolutionError` for arguments PyTorch refuses, such as an output padding
  ///   not smaller than the stride or the dilation.
  public init(
    inChannels: Int, outChannels: Int, kernelSize: PerDimension, stride: PerDimension = 1,
    padding: Padding = 0, outputPadding: PerDimension = 0, groups: Int = 1, bias: Bool = true,
    dilation: PerDimension = 1, seed: UInt64? = nil
  ) throws(ConvolutionError) {
    try super.init(
      spatialRank: 1, inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize,
      bias: bias,
      options: ConvolutionOptions(
        stride: stride, padding: padding, dilation: dilation, groups: groups, transposed: true,
        outputPadding: outputPadding),
      seed: seed)
  }
}

/// A 2-D transposed convolution layer, as `torch.nn.ConvTranspose2d`: input
/// `[N, C_in, H, W]`, weight `[C_in, C_out / groups, kH, kW]`.
public final class ConvTranspose2d: ConvolutionLayer {
  /// - Throws: `ConvolutionError` for arguments PyTorch refuses, such as an output padding
  ///   not smaller than the stride or the dilation.
  public init(
    inChannels: Int, outChannels: Int, kernelSize: PerDimension, stride: PerDimension = 1,
    padding: Padding = 0, outputPadding: PerDimension = 0, groups: Int = 1, bias: Bool = true,
    dilation: PerDimension = 1, seed: UInt64? = nil
  ) throws(ConvolutionError) {
    try super.init(
      spatialRank: 2, inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize,
      bias: bias,
      options: ConvolutionOptions(
        stride: stride, padding: padding, dilation: dilation, groups: groups, transposed: true,
        outputPadding: outputPadding),
      seed: seed)
  }
}

/// A 3-D transposed convolution layer, as `torch.nn.ConvTranspose3d`: input
/// `[N, C_in, D, H, W]`, weight `[C_in, C_out / groups, kD, kH, kW]`.
public final class ConvTranspose3d: ConvolutionLayer {
  /// - Throws: `ConvolutionError` for arguments PyTorch refuses, such as an output padding
  ///   not smaller than the stride or the dilation.
  public init(
    inChannels: Int, outChannels: Int, kernelSize: PerDimension, stride: PerDimension = 1,
    padding: Padding = 0, outputPadding: PerDimension = 0, groups: Int = 1, bias: Bool = true,
    dilation: PerDimension = 1, seed: UInt64? = nil
  ) throws(ConvolutionError) {
    try super.init(
      spatialRank: 3, inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize,
      bias: bias,
      options: ConvolutionOptions(
        stride: stride, padding: padding, dilation: dilation, groups: groups, transposed: true,
        outputPadding: outputPadding),
      seed: seed)
  }
}
