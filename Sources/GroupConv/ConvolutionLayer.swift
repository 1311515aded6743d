import Kernels
import Tensors

/// What `Conv1d` ... `ConvTranspose3d` share: their arguments, their parameters, the
/// gradients of those, and forward and backward passes. Use the subclasses.
///
/// The parameters start as PyTorch initialises them (see `manualSeed(_:)`), and can be set:
/// a weight or bias of the wrong shape is refused by the next `forward`.
public class ConvolutionLayer {
  /// Channels of the input.
  public let inChannels: Int
  /// Channels of the output.
  public let outChannels: Int
  /// Kernel extent per spatial dimension.
  public let kernelSize: [Int]
  /// Stride, padding, dilation, groups, padding mode and output padding.
  public let options: ConvolutionOptions
  /// `[C_out, C_in / groups, k...]`, or for a transposed layer `[C_in, C_out / groups, k...]`.
  public var weight: Tensor {
    didSet { kernels?.weightChanged() }
  }
  /// `[C_out]`, or `nil` for a layer made with `bias: false`.
  public var bias: Tensor?
  /// The weight's gradient, summed over every `backward` since the last `zeroGrad()`.
  public private(set) var weightGrad: Tensor?
  /// The bias's gradient, summed over every `backward` since the last `zeroGrad()`.
  public private(set) var biasGrad: Tensor?

  /// The module's name in messages: `Conv2d`, `ConvTranspose1d`, ...
  let name: String
  /// The convolution for the most recent input shape, reused while it stays the same.
  private var plan: Convolution?
  /// The fast kernels for `plan` and `weight`, each made on first use.
  private var kernels: ConvolutionKernels?

  init(
    spatialRank: Int, inChannels: Int, outChannels: Int, kernelSize: PerDimension,
    bias: Bool, options: ConvolutionOptions, seed: UInt64?
  ) throws(ConvolutionError) {
    let name = (options.transposed ? "ConvTranspose" : "Conv") + "\(spatialRank)d"
    for (argument, value) in [("in_channels", inChannels), ("out_channels", outChannels)]
    where value <= 0 {
      throw .nonPositiveArgument(operation: name, name: argument, values: [value])
    }
    guard options.groups > 0 else {
      throw .nonPositiveGroups(operation: name, groups: options.groups)
    }
    for (role, channels) in [(ConvolutionError.ChannelRole.input, inChannels), (.output, outChannels)]
    where channels % options.groups != 0 {
      throw .channelsNotDivisibleByGroups(
        operation: name, role: role, channels: channels, groups: options.groups,
        inputChannels: inChannels, outputChannels: outChannels)
    }
    guard let kernel = kernelSize.resolved(spatialRank: spatialRank) else {
      throw .argumentCount(
        operation: name, name: "kernel_size", values: kernelSize.values,
        spatialRank: spatialRank)
    }
    guard kernel.allSatisfy({ $0 > 0 }) else {
      throw .nonPositiveArgument(operation: name, name: "kernel_size", values: kernel)
    }
    let weightShape =
      options.transposed
      ? [inChannels, outChannels / options.groups] + kernel
      : [outChannels, inChannels / options.groups] + kernel
    // Every rule that does not depend on the input's size is checked now, as PyTorch's
    // module constructors do.
    _ = try ConvolutionGeometry.checkOptions(options, spatialRank: spatialRank, operation: name)

    let parameters = try defaultParameters(
      weightShape: weightShape, biasCount: bias ? outChannels : nil, seed: layerSeed(seed),
      operation: name)
    self.name = name
    self.inChannels = inChannels
    self.outChannels = outChannels
    self.kernelSize = kernel
    self.options = options
    self.weight = parameters.weight
    self.bias = parameters.bias
  }

  /// The layer's output for `input`: `[N, C_in, spatial...]` → `[N, C_out, out...]`.
  ///
  /// - Throws: `ConvolutionError` when the input does not fit the layer (channels, rank, a
  ///   kernel larger than the padded input, padding wider than reflect allows, ...).
  public func forward(_ input: Tensor) throws(ConvolutionError) -> Tensor {
    let (convolution, kernels) = try convolution(for: input)
    return try convolution.forward(input, weight: weight, bias: bias, kernels: kernels)
  }

  /// `forward(input)`, so that a layer reads like a function: `y = try conv(x)`.
  public func callAsFunction(_ input: Tensor) throws(ConvolutionError) -> Tensor {
    try forward(input)
  }

  /// Backpropagates `gradOutput` through the layer at `input`: returns the input's gradient
  /// and adds the parameters' gradients to `weightGrad` and `biasGrad`.
  ///
  /// - Throws: `ConvolutionError` for an input the layer refuses, or a `gradOutput` whose
  ///   shape is not the output's.
  public func backward(_ gradOutput: Tensor, input: Tensor) throws(ConvolutionError) -> Tensor {
    let (convolution, kernels) = try convolution(for: input)
    let gradients = try convolution.backward(
      gradOutput: gradOutput, input: input, weight: weight, kernels: kernels)
    weightGrad = Self.sum(weightGrad, gradients.weight)
    if let biasGradient = gradients.bias { biasGrad = Self.sum(biasGrad, biasGradient) }
    return gradients.input
  }

  /// Forgets the accumulated gradients.
  public func zeroGrad() {
    weightGrad = nil
    biasGrad = nil
  }

  /// The number of weights and biases.
  public var parameterCount: Int { weight.count + (bias?.count ?? 0) }

  private func convolution(for input: Tensor) throws(ConvolutionError)
    -> (Convolution, ConvolutionKernels)
  {
    guard input.rank == kernelSize.count + 2 else {
      throw .inputRank(operation: name, shape: input.shape, expectedRank: kernelSize.count + 2)
    }
    if let plan, let kernels, plan.inputShape == input.shape, plan.weightShape == weight.shape,
      plan.hasBias == (bias != nil)
    {
      return (plan, kernels)
    }
    let convolution = try Convolution(
      inputShape: input.shape, weightShape: weight.shape, biasShape: bias?.shape,
      options: options, operation: name)
    let kernels = ConvolutionKernels(convolution)
    self.plan = convolution
    self.kernels = kernels
    return (convolution, kernels)
  }

  private static func sum(_ total: Tensor?, _ addend: Tensor) -> Tensor {
    guard let total else { return addend }
    return Tensor(validShape: addend.shape, scalars: zip(total.scalars, addend.scalars).map(+))
  }
}
