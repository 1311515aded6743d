import Tensors

/// What one forward pass of a convolution costs: parameters, arithmetic and memory traffic.
///
/// Groups divide the parameters and the multiply-adds by `groups` but leave the activations
/// as they are, so the arithmetic intensity (FLOPs per byte moved) falls with them: a grouped
/// or depthwise layer saves less time than FLOPs once memory bandwidth limits it.
///
/// ```swift
/// let dense = try ConvolutionCost(inputShape: [1, 64, 56, 56], weightShape: [128, 64, 3, 3])
/// let grouped = try ConvolutionCost(
///   inputShape: [1, 64, 56, 56], weightShape: [128, 8, 3, 3],
///   options: ConvolutionOptions(padding: 1, groups: 8))
/// grouped.multiplyAdds * 8 == dense.multiplyAdds   // the padding aside
/// ```
public struct ConvolutionCost: Equatable, Hashable, Sendable {
  /// Weights plus biases.
  public var parameters: Int
  /// Multiply-adds of one forward pass: N · C_out · prod(out) · (C_in / groups) · prod(k).
  public var multiplyAdds: Int
  /// Bytes of the input activations (float32).
  public var inputBytes: Int
  /// Bytes of the output activations (float32).
  public var outputBytes: Int
  /// Bytes of the weights and biases (float32).
  public var weightBytes: Int

  /// Floating-point operations of one forward pass: two per multiply-add.
  public var flops: Int { 2 * multiplyAdds }
  /// Bytes that a pass must move at least once: input, output, weights and biases.
  public var bytes: Int { inputBytes + outputBytes + weightBytes }
  /// FLOPs per byte of compulsory traffic: above a machine's ridge point (peak FLOP/s over
  /// memory bandwidth) the layer can be compute-bound, below it memory-bound.
  public var arithmeticIntensity: Double { bytes == 0 ? 0 : Double(flops) / Double(bytes) }

  /// The cost of `convolution` as checked by `Convolution`.
  public init(_ convolution: Convolution) {
    let g = convolution.geometry
    let weights = g.weightShape.reduce(1, *)
    let biases = g.hasBias ? g.outputChannels : 0
    parameters = weights + biases
    multiplyAdds = g.multiplyAdds
    inputBytes = 4 * g.inputShape.reduce(1, *)
    outputBytes = 4 * g.outputShape.reduce(1, *)
    weightBytes = 4 * parameters
  }

  /// The cost of the convolution these shapes and options describe.
  ///
  /// - Throws: `ConvolutionError` for shapes or options that PyTorch refuses.
  public init(
    inputShape: [Int], weightShape: [Int], biasShape: [Int]? = nil,
    options: ConvolutionOptions = ConvolutionOptions()
  ) throws(ConvolutionError) {
    self.init(
      try Convolution(
        inputShape: inputShape, weightShape: weightShape, biasShape: biasShape, options: options))
  }
}
