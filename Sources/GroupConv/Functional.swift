import Tensors

// The functional forms, named and ordered as `torch.nn.functional`: each checks the
// arguments against the tensors, then runs one `Convolution`.

/// A convolution over the 1, 2 or 3 spatial dimensions of `input`, as `torch.nn.functional.conv*d`
/// (or, with `options.transposed`, `conv_transpose*d`), with the padding mode of PyTorch's
/// convolution modules.
///
/// - Parameters:
///   - input: `[N, C_in, spatial...]`.
///   - weight: `[C_out, C_in / groups, k...]`; transposed: `[C_in, C_out / groups, k...]`.
///   - bias: `[C_out]`, or `nil`.
/// - Returns: `[N, C_out, out...]`.
/// - Throws: `ConvolutionError` naming the first rule the arguments break.
public func convolution(
  _ input: Tensor, weight: Tensor, bias: Tensor? = nil,
  options: ConvolutionOptions = ConvolutionOptions()
) throws(ConvolutionError) -> Tensor {
  try Convolution(
    inputShape: input.shape, weightShape: weight.shape, biasShape: bias?.shape, options: options
  ).forward(input, weight: weight, bias: bias)
}

/// The gradients of `convolution(input, weight: weight, bias: ..., options: options)` with
/// respect to its input, weight and (when `includeBias`) bias, given `gradOutput`.
///
/// - Throws: `ConvolutionError` for arguments the forward pass would refuse, or a
///   `gradOutput` whose shape is not the output's.
public func convolutionBackward(
  gradOutput: Tensor, input: Tensor, weight: Tensor, includeBias: Bool = true,
  options: ConvolutionOptions = ConvolutionOptions()
) throws(ConvolutionError) -> ConvolutionGradients {
  // A weight of the wrong rank is refused before the bias is looked at.
  let biasShape = includeBias && weight.rank >= 2 ? [outputChannels(weight, options)] : nil
  return try Convolution(
    inputShape: input.shape, weightShape: weight.shape, biasShape: biasShape, options: options
  ).backward(gradOutput: gradOutput, input: input, weight: weight)
}

private func outputChannels(_ weight: Tensor, _ options: ConvolutionOptions) -> Int {
  options.transposed ? weight.shape[1] * options.groups : weight.shape[0]
}

/// 1-D convolution, as `torch.nn.functional.conv1d`. input `[N, C_in, W]`, weight
/// `[C_out, C_in / groups, kW]`.
public func conv1d(
  _ input: Tensor, _ weight: Tensor, _ bias: Tensor? = nil, stride: PerDimension = 1,
  padding: Padding = 0, dilation: PerDimension = 1, groups: Int = 1,
  paddingMode: PaddingMode = .zeros
) throws(ConvolutionError) -> Tensor {
  try convolution(
    input, rank: 3, weight: weight, bias: bias, transposed: false,
    options: ConvolutionOptions(
      stride: stride, padding: padding, dilation: dilation, groups: groups,
      paddingMode: paddingMode))
}

/// 2-D convolution, as `torch.nn.functional.conv2d`. input `[N, C_in, H, W]`, weight
/// `[C_out, C_in / groups, kH, kW]`.
public func conv2d(
  _ input: Tensor, _ weight: Tensor, _ bias: Tensor? = nil, stride: PerDimension = 1,
  padding: Padding = 0, dilation: PerDimension = 1, groups: Int = 1,
  paddingMode: PaddingMode = .zeros
) throws(ConvolutionError) -> Tensor {
  try convolution(
    input, rank: 4, weight: weight, bias: bias, transposed: false,
    options: ConvolutionOptions(
      stride: stride, padding: padding, dilation: dilation, groups: groups,
      paddingMode: paddingMode))
}

/// 3-D convolution, as `torch.nn.functional.conv3d`. input `[N, C_in, D, H, W]`, weight
/// `[C_out, C_in / groups, kD, kH, kW]`.
public func conv3d(
  _ input: Tensor, _ weight: Tensor, _ bias: Tensor? = nil, stride: PerDimension = 1,
  padding: Padding = 0, dilation: PerDimension = 1, groups: Int = 1,
  paddingMode: PaddingMode = .zeros
) throws(ConvolutionError) -> Tensor {
  try convolution(
    input, rank: 5, weight: weight, bias: bias, transposed: false,
    options: ConvolutionOptions(
      stride: stride, padding: padding, dilation: dilation, groups: groups,
      paddingMode: paddingMode))
}

/// 1-D transposed convolution, as `torch.nn.functional.conv_transpose1d`. input
/// `[N, C_in, W]`, weight `[C_in, C_out / groups, kW]`.
public func convTranspose1d(
  _ input: Tensor, _ weight: Tensor, _ bias: Tensor? = nil, stride: PerDimension = 1,
  padding: Padding = 0, outputPadding: PerDimension = 0, groups: Int = 1,
  dilation: PerDimension = 1
) throws(ConvolutionError) -> Tensor {
  try convolution(
    input, rank: 3, weight: weight, bias: bias, transposed: true,
    options: ConvolutionOptions(
      stride: stride, padding: padding, dilation: dilation, groups: groups, transposed: true,
      outputPadding: outputPadding))
}

/// 2-D transposed convolution, as `torch.nn.functional.conv_transpose2d`. input
/// `[N, C_in, H, W]`, weight `[C_in, C_out / groups, kH, kW]`.
public func convTranspose2d(
  _ input: Tensor, _ weight: Tensor, _ bias: Tensor? = nil, stride: PerDimension = 1,
  padding: Padding = 0, outputPadding: PerDimension = 0, groups: Int = 1,
  dilation: PerDimension = 1
) throws(ConvolutionError) -> Tensor {
  try convolution(
    input, rank: 4, weight: weight, bias: bias, transposed: true,
    options: ConvolutionOptions(
      stride: stride, padding: padding, dilation: dilation, groups: groups, transposed: true,
      outputPadding: outputPadding))
}

/// 3-D transposed convolution, as `torch.nn.functional.conv_transpose3d`. input
/// `[N, C_in, D, H, W]`, weight `[C_in, C_out / groups, kD, kH, kW]`.
public func convTranspose3d(
  _ input: Tensor, _ weight: Tensor, _ bias: Tensor? = nil, stride: PerDimension = 1,
  padding: Padding = 0, outputPadding: PerDimension = 0, groups: Int = 1,
  dilation: PerDimension = 1
) throws(ConvolutionError) -> Tensor {
  try convolution(
    input, rank: 5, weight: weight, bias: bias, transposed: true,
    options: ConvolutionOptions(
      stride: stride, padding: padding, dilation: dilation, groups: groups, transposed: true,
      outputPadding: outputPadding))
}

/// `convolution` for an operation that takes inputs of one rank only.
private func convolution(
  _ input: Tensor, rank: Int, weight: Tensor, bias: Tensor?, transposed: Bool,
  options: ConvolutionOptions
) throws(ConvolutionError) -> Tensor {
  let operation = ConvolutionGeometry.operation(spatialRank: rank - 2, transposed: transposed)
  guard input.rank == rank else {
    throw .inputRank(operation: operation, shape: input.shape, expectedRank: rank)
  }
  return try Convolution(
    inputShape: input.shape, weightShape: weight.shape, biasShape: bias?.shape,
    options: options, operation: operation
  ).forward(input, weight: weight, bias: bias)
}
