import Kernels
import Tensors

/// One convolution or transposed convolution, checked against its shapes once, that runs
/// forward and backward on tensors of those shapes.
///
/// ```swift
/// let conv = try Convolution(
///   inputShape: [1, 6, 8, 8], weightShape: [12, 2, 3, 3], biasShape: [12],
///   options: ConvolutionOptions(padding: 1, groups: 3))
/// let y = try conv.forward(x, weight: w, bias: b)            // [1, 12, 8, 8]
/// let grads = try conv.backward(gradOutput: dy, input: x, weight: w)
/// ```
public struct Convolution: Equatable, Hashable, Sendable {
  package let geometry: ConvolutionGeometry
  /// The operation's name in messages: `conv2d`, `conv_transpose3d`, `Conv2d`, ...
  public let operation: String

  /// Checks the arguments against the shapes as PyTorch does.
  ///
  /// - Parameters:
  ///   - inputShape: `[N, C_in, spatial...]` with 1, 2 or 3 spatial dimensions.
  ///   - weightShape: `[C_out, C_in / groups, k...]`; transposed: `[C_in, C_out / groups, k...]`.
  ///   - biasShape: `[C_out]`, or `nil` for no bias.
  ///   - operation: the name in error messages, `conv2d` or `conv_transpose2d` by default.
  /// - Throws: `ConvolutionError` naming the first rule the arguments break.
  public init(
    inputShape: [Int], weightShape: [Int], biasShape: [Int]? = nil,
    options: ConvolutionOptions = ConvolutionOptions(), operation: String? = nil
  ) throws(ConvolutionError) {
    geometry = try ConvolutionGeometry(
      inputShape: inputShape, weightShape: weightShape, biasShape: biasShape, options: options,
      operation: operation)
    self.operation = operation ?? geometry.operation
  }

  /// The shape `forward` takes.
  public var inputShape: [Int] { geometry.inputShape }
  /// The shape `forward` returns.
  public var outputShape: [Int] { geometry.outputShape }
  /// The weight's shape.
  public var weightShape: [Int] { geometry.weightShape }
  /// Whether the convolution adds a bias.
  public var hasBias: Bool { geometry.hasBias }
  /// Padding added before the first element of each spatial dimension (for a transposed
  /// convolution: removed from the output's beginning).
  public var paddingBegin: [Int] { geometry.padBegin }
  /// Padding added after the last element of each spatial dimension.
  public var paddingEnd: [Int] { geometry.padEnd }

  /// The output for `input`, as `torch.nn.functional.conv*d` or `conv_transpose*d` computes it.
  ///
  /// - Throws: `ConvolutionError.shapeMismatch` when a tensor's shape is not the one this
  ///   convolution was made for.
  public func forward(_ input: Tensor, weight: Tensor, bias: Tensor? = nil)
    throws(ConvolutionError) -> Tensor
  {
    try forward(input, weight: weight, bias: bias, kernel: nil)
  }

  /// `forward` with a fast kernel made earlier for this geometry and weight (see
  /// `makeForwardKernel`), or one made now when `kernel` is nil.
  func forward(_ input: Tensor, weight: Tensor, bias: Tensor?, kernel: (any ForwardKernel)?)
    throws(ConvolutionError) -> Tensor
  {
    try check(input, "input", geometry.inputShape)
    try check(weight, "weight", geometry.weightShape)
    try checkBias(bias)
    var g = geometry
    var output: [Float]
    if g.transposed {
      if let fast = weight.withUnsafeBufferPointer({ InputGradientKernel(g, weight: $0) }) {
        return Tensor(
          validShape: geometry.outputShape,
          scalars: Self.run(fast, input.scalars, bias: bias, count: g.xShape.reduce(1, *)))
      }
      output = Reference.correlateInputGradient(dy: input.scalars, w: weight.scalars, g)
    } else {
      let x = padded(input.scalars, &g)
      if let kernel = kernel ?? makeForwardKernel(weight: weight) {
        output = [Float](repeating: 0, count: g.yShape.reduce(1, *))
        x.withUnsafeBufferPointer { x in
          output.withUnsafeMutableBufferPointer { y in
            if let bias {
              bias.withUnsafeBufferPointer { b in
                kernel.forward(x: x.baseAddress!, bias: b.baseAddress!, y: y.baseAddress!)
              }
            } else {
              kernel.forward(x: x.baseAddress!, bias: nil, y: y.baseAddress!)
            }
          }
        }
        return Tensor(validShape: geometry.outputShape, scalars: output)
      }
      output = Reference.correlate(x: x, w: weight.scalars, g)
    }
    if let bias {
      Reference.addBias(
        bias.scalars, to: &output, channels: geometry.outputChannels, plane: outputPlane)
    }
    return Tensor(validShape: geometry.outputShape, scalars: output)
  }

  /// The fast forward kernel for this convolution with `weight` packed, or `nil` when the
  /// reference loops serve it. `weight` must have `weightShape`.
  func makeForwardKernel(weight: Tensor) -> (any ForwardKernel)? {
    guard !geometry.transposed, geometry.outputShape.reduce(1, *) > 0 else { return nil }
    var g = geometry
    if g.paddingMode != .zeros { g = g.explicitlyPadded }
    return weight.withUnsafeBufferPointer { ForwardKernels.make(for: g, weight: $0) }
  }

  /// The gradients of a loss with respect to the input, the weight and the bias, given the
  /// loss's gradient with respect to the output: the three gradients of PyTorch's autograd.
  ///
  /// The input gradient of a convolution is the transposed convolution of `gradOutput` with
  /// the same weight, and the input gradient of a transposed convolution is the convolution;
  /// the weight gradient correlates the input with `gradOutput`, group by group.
  ///
  /// - Throws: `ConvolutionError.shapeMismatch` for a tensor of another shape.
  public func backward(gradOutput: Tensor, input: Tensor, weight: Tensor)
    throws(ConvolutionError) -> ConvolutionGradients
  {
    try check(gradOutput, "grad_output", geometry.outputShape)
    try check(input, "input", geometry.inputShape)
    try check(weight, "weight", geometry.weightShape)
    let dInput: [Float]
    let dWeight: [Float]
    var g = geometry
    if g.transposed {
      dInput = Reference.correlate(x: gradOutput.scalars, w: weight.scalars, g)
      dWeight = Reference.correlateWeightGradient(dy: input.scalars, x: gradOutput.scalars, g)
    } else {
      let x = padded(input.scalars, &g)
      let dPadded: [Float]
      if let fast = weight.withUnsafeBufferPointer({ InputGradientKernel(g, weight: $0) }) {
        dPadded = Self.run(fast, gradOutput.scalars, bias: nil, count: g.xShape.reduce(1, *))
      } else {
        dPadded = Reference.correlateInputGradient(dy: gradOutput.scalars, w: weight.scalars, g)
      }
      dInput =
        geometry.paddingMode == .zeros
        ? dPadded
        : Reference.padGradient(
          dPadded, shape: geometry.xShape, begin: geometry.padBegin, end: geometry.padEnd,
          mode: geometry.paddingMode)
      dWeight = Reference.correlateWeightGradient(dy: gradOutput.scalars, x: x, g)
    }
    let dBias =
      geometry.hasBias
      ? Tensor(
        validShape: [geometry.outputChannels],
        scalars: Reference.biasGradient(
          gradOutput.scalars, channels: geometry.outputChannels, plane: outputPlane))
      : nil
    return ConvolutionGradients(
      input: Tensor(validShape: geometry.inputShape, scalars: dInput),
      weight: Tensor(validShape: geometry.weightShape, scalars: dWeight),
      bias: dBias)
  }

  /// Runs an input-gradient kernel on `dy`, returning `count` elements.
  private static func run(
    _ kernel: InputGradientKernel, _ dy: [Float], bias: Tensor?, count: Int
  ) -> [Float] {
    var dx = [Float](repeating: 0, count: count)
    dy.withUnsafeBufferPointer { dy in
      dx.withUnsafeMutableBufferPointer { dx in
        if let bias {
          bias.withUnsafeBufferPointer { b in
            kernel.run(dy: dy.baseAddress!, bias: b.baseAddress!, dx: dx.baseAddress!)
          }
        } else {
          kernel.run(dy: dy.baseAddress!, bias: nil, dx: dx.baseAddress!)
        }
      }
    }
    return dx
  }

  /// The elements per (sample, channel) of the output.
  private var outputPlane: Int { Array(geometry.outputShape[2...]).reduce(1, *) }

  /// x with its padding written out when the padding mode is not zeros; `g` then describes
  /// the padded input.
  private func padded(_ x: [Float], _ g: inout ConvolutionGeometry) -> [Float] {
    guard g.paddingMode != .zeros else { return x }
    let result = Reference.pad(
      x, shape: g.xShape, begin: g.padBegin, end: g.padEnd, mode: g.paddingMode)
    g = g.explicitlyPadded
    return result
  }

  private func check(_ tensor: Tensor, _ name: String, _ expected: [Int])
    throws(ConvolutionError)
  {
    guard tensor.shape == expected else {
      throw .shapeMismatch(
        operation: operation, name: name, shape: tensor.shape, expected: expected)
    }
  }

  private func checkBias(_ bias: Tensor?) throws(ConvolutionError) {
    switch (bias, geometry.hasBias) {
    case (let bias?, true): try check(bias, "bias", [geometry.outputChannels])
    case (nil, false): break
    case (let bias?, false):
      throw .biasPresence(operation: operation, given: bias.shape, expected: nil)
    case (nil, true):
      throw .biasPresence(operation: operation, given: nil, expected: [geometry.outputChannels])
    }
  }
}

/// The gradients of a loss with respect to a convolution's input, weight and bias.
public struct ConvolutionGradients: Equatable, Sendable {
  /// Same shape as the input.
  public var input: Tensor
  /// Same shape as the weight.
  public var weight: Tensor
  /// Same shape as the bias; `nil` when the convolution has none.
  public var bias: Tensor?

  public init(input: Tensor, weight: Tensor, bias: Tensor?) {
    self.input = input
    self.weight = weight
    self.bias = bias
  }
}
