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
    try forward(input, weight: weight, bias: bias, kernels: ConvolutionKernels(self))
  }

  /// `forward` with fast kernels made earlier for this convolution and `weight`.
  func forward(_ input: Tensor, weight: Tensor, bias: Tensor?, kernels: ConvolutionKernels)
    throws(ConvolutionError) -> Tensor
  {
    try check(input, "input", geometry.inputShape)
    try check(weight, "weight", geometry.weightShape)
    try checkBias(bias)
    let count = geometry.outputShape.reduce(1, *)
    if geometry.transposed {
      // The transposed convolution is the convolution's input gradient.
      if let fast = kernels.inputGradient(weight) {
        return output(count) { y in fast.run(dy: input, bias: bias, dx: y) }
      }
      var y = Reference.correlateInputGradient(dy: input.scalars, w: weight.scalars, geometry)
      addBias(bias, to: &y)
      return Tensor(validShape: geometry.outputShape, scalars: y)
    }
    let x = padded(input)
    if let fast = kernels.forward(weight) {
      return output(count) { y in fast.forward(x: x, bias: bias, y: y) }
    }
    var y = Reference.correlate(x: x.scalars, w: weight.scalars, kernels.zeroPadded)
    addBias(bias, to: &y)
    return Tensor(validShape: geometry.outputShape, scalars: y)
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
    try backward(
      gradOutput: gradOutput, input: input, weight: weight, kernels: ConvolutionKernels(self))
  }

  /// `backward` with fast kernels made earlier for this convolution and `weight`.
  func backward(
    gradOutput: Tensor, input: Tensor, weight: Tensor, kernels: ConvolutionKernels
  ) throws(ConvolutionError) -> ConvolutionGradients {
    try check(gradOutput, "grad_output", geometry.outputShape)
    try check(input, "input", geometry.inputShape)
    try check(weight, "weight", geometry.weightShape)
    let g = kernels.zeroPadded
    let inputCount = geometry.inputShape.reduce(1, *)
    var dBias: Tensor?
    let dInput: Tensor
    let dWeight: Tensor
    if geometry.transposed {
      // Input = the correlation's y side, output = its x side.
      if let fast = kernels.forward(weight) {
        dInput = output(inputCount, shape: geometry.inputShape) { dx in
          fast.forward(x: gradOutput, bias: nil, y: dx)
        }
      } else {
        dInput = Tensor(
          validShape: geometry.inputShape,
          scalars: Reference.correlate(x: gradOutput.scalars, w: weight.scalars, g))
      }
      // The bias belongs to the output, the correlation's x side: summed on its own.
      var none: Tensor? = nil
      dWeight = weightGradient(dy: input, x: gradOutput, kernels: kernels, biasGradient: &none)
      if geometry.hasBias { dBias = biasGradient(gradOutput) }
    } else {
      let x = padded(input)
      let paddedCount = g.xShape.reduce(1, *)
      var dPadded: Tensor
      if let fast = kernels.inputGradient(weight) {
        dPadded = output(paddedCount, shape: g.xShape) { dx in
          fast.run(dy: gradOutput, bias: nil, dx: dx)
        }
      } else {
        dPadded = Tensor(
          validShape: g.xShape,
          scalars: Reference.correlateInputGradient(dy: gradOutput.scalars, w: weight.scalars, g))
      }
      if geometry.paddingMode != .zeros {
        dPadded = Tensor(
          validShape: geometry.xShape,
          scalars: Reference.padGradient(
            dPadded.scalars, shape: geometry.xShape, begin: geometry.padBegin,
            end: geometry.padEnd, mode: geometry.paddingMode))
      }
      dInput = dPadded
      var db: Tensor? = geometry.hasBias ? Tensor(zeros: [geometry.yChannels]) : nil
      dWeight = weightGradient(dy: gradOutput, x: x, kernels: kernels, biasGradient: &db)
      dBias = db
    }
    return ConvolutionGradients(input: dInput, weight: dWeight, bias: dBias)
  }

  /// dw = dy ⋆ x (and, when `db` is given, the bias gradient of dy from the same pass).
  private func weightGradient(
    dy: Tensor, x: Tensor, kernels: ConvolutionKernels, biasGradient db: inout Tensor?
  ) -> Tensor {
    let shape = geometry.weightShape
    guard let fast = kernels.weightGradient() else {
      if db != nil { db = biasGradient(dy) }
      return Tensor(
        validShape: shape,
        scalars: Reference.correlateWeightGradient(
          dy: dy.scalars, x: x.scalars, kernels.zeroPadded))
    }
    var dw = Tensor(zeros: shape)
    dy.withUnsafeBufferPointer { dy in
      x.withUnsafeBufferPointer { x in
        dw.withUnsafeMutableBufferPointer { dw in
          if var sums = db {
            sums.withUnsafeMutableBufferPointer { db in
              fast.weightGradient(
                dy: dy.baseAddress!, x: x.baseAddress!, dw: dw.baseAddress!,
                biasGradient: db.baseAddress!)
            }
            db = sums
          } else {
            fast.weightGradient(
              dy: dy.baseAddress!, x: x.baseAddress!, dw: dw.baseAddress!, biasGradient: nil)
          }
        }
      }
    }
    return dw
  }

  /// The sum of `gradOutput` per output channel.
  private func biasGradient(_ gradOutput: Tensor) -> Tensor {
    let channels = geometry.outputChannels
    var db = Tensor(zeros: [channels])
    guard gradOutput.count > 0 else { return db }
    gradOutput.withUnsafeBufferPointer { dy in
      db.withUnsafeMutableBufferPointer { db in
        BiasGradient.compute(
          dy: dy.baseAddress!, batch: geometry.batch, channels: channels, plane: outputPlane,
          into: db.baseAddress!)
      }
    }
    return db
  }

  private func addBias(_ bias: Tensor?, to output: inout [Float]) {
    guard let bias else { return }
    Reference.addBias(
      bias.scalars, to: &output, channels: geometry.outputChannels, plane: outputPlane)
  }

  /// A tensor of `count` elements (the output's shape unless given) that `body` fills.
  private func output(
    _ count: Int, shape: [Int]? = nil, _ body: (UnsafeMutablePointer<Float>) -> Void
  ) -> Tensor {
    let shape = shape ?? geometry.outputShape
    precondition(shape.reduce(1, *) == count)
    guard count > 0 else { return Tensor(zeros: shape) }
    // Not zero-filled first: the kernels write every element, and filling a large output
    // only to overwrite it costs as much as a depthwise pass.
    let scalars = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      body(buffer.baseAddress!)
      initialized = count
    }
    return Tensor(validShape: shape, scalars: scalars)
  }

  /// The elements per (sample, channel) of the output.
  private var outputPlane: Int { Array(geometry.outputShape[2...]).reduce(1, *) }

  /// The input with its padding written out when the padding mode is not zeros (the
  /// kernels then read it with `ConvolutionKernels.zeroPadded`).
  private func padded(_ input: Tensor) -> Tensor {
    guard geometry.paddingMode != .zeros else { return input }
    let g = geometry.explicitlyPadded
    return Tensor(
      validShape: g.xShape,
      scalars: Reference.pad(
        input.scalars, shape: geometry.xShape, begin: geometry.padBegin, end: geometry.padEnd,
        mode: geometry.paddingMode))
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
