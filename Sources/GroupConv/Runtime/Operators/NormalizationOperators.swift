import Formats
import Kernels

/// BatchNormalization (inference), LRN, LayerNormalization, Softmax and LogSoftmax.
extension Operators {
  static let normalizations: [String: OperatorDefinition] = [
    "BatchNormalization": OperatorDefinition(opsets: 6...21, build: batchNormalization),
    "LRN": OperatorDefinition(opsets: 6...21, build: localResponseNormalization),
    "LayerNormalization": OperatorDefinition(opsets: 17...21, build: layerNormalization),
    "Softmax": OperatorDefinition(opsets: 6...21) { context throws(InferenceError) in
      try softmax(context, logarithm: false)
    },
    "LogSoftmax": OperatorDefinition(opsets: 6...21) { context throws(InferenceError) in
      try softmax(context, logarithm: true)
    },
  ]

  /// y = (x − mean) / √(var + epsilon) · scale + B per channel of x: [N, C, ...], folded
  /// into y = x · a + b. The statistics must be constant; opset 9's spatial = 0 takes them
  /// per element of x's [C, ...]; training_mode (opset 14) must be 0.
  static func batchNormalization(_ context: NodeContext) throws(InferenceError)
    -> any CompiledOperator
  {
    try context.expectInputs(5...5)
    try context.expectOutputs(1...1)
    try context.expectFloats(0)
    if let training = try context.int("training_mode"), training != 0 {
      throw context.invalidAttribute(
        "training_mode", "\(training)", "only inference (training_mode = 0) is supported")
    }
    if context.opset < 7, let test = try context.int("is_test"), test == 0 {
      throw context.invalidAttribute("is_test", "0", "only inference (is_test = 1) is supported")
    }
    let shape = try context.shape(0)
    guard shape.count >= 2 else { throw context.invalidInput(0, "must have rank 2 or more") }
    let spatial = context.opset < 10 ? try context.int("spatial", default: 1) : 1
    guard spatial == 0 || spatial == 1 else {
      throw context.invalidAttribute("spatial", "\(spatial)", "must be 0 or 1")
    }
    let perElement = spatial == 0
    let statistics = perElement ? shape[1...].reduce(1, *) : shape[1]
    let epsilon = try context.float("epsilon", default: 1e-5)
    var values = [[Float]]()
    for index in 1...4 {
      let floats = try context.constantFloats(index)
      guard floats.count == statistics else {
        throw context.invalidInput(
          index,
          "must hold \(statistics) values, one per "
            + (perElement ? "element of x's shape after N" : "channel"))
      }
      values.append(floats)
    }
    let scale = (0..<statistics).map { c in values[0][c] / (values[3][c] + epsilon).squareRoot() }
    let shift = (0..<statistics).map { c in values[1][c] - values[2][c] * scale[c] }
    let inner = perElement ? 1 : shape[2...].reduce(1, *)
    return KernelOperator(context, outputs: [shape], inPlace: true) { inputs, outputs in
      Normalization.affine(inputs[0], scale: scale, shift: shift, inner: inner, into: outputs[0])
    }
  }

  /// y = x / (bias + alpha / size · Σ x²)^beta over `size` neighbouring channels.
  static func localResponseNormalization(_ context: NodeContext) throws(InferenceError)
    -> any CompiledOperator
  {
    let shape = try context.singleInput()
    guard shape.count >= 3 else { throw context.invalidInput(0, "must have rank 3 or more") }
    guard let size = try context.int("size") else {
      throw context.invalidAttribute("size", "(absent)", "is required")
    }
    guard size >= 1 else { throw context.invalidAttribute("size", "\(size)", "must be positive") }
    let alpha = try context.float("alpha", default: 1e-4)
    let beta = try context.float("beta", default: 0.75)
    let bias = try context.float("bias", default: 1)
    let (channels, plane) = (shape[1], shape[2...].reduce(1, *))
    return KernelOperator(context, outputs: [shape]) { inputs, outputs in
      guard channels * plane > 0 else { return }
      Normalization.localResponse(
        inputs[0], into: outputs[0], channels: channels, plane: plane, size: size, alpha: alpha,
        beta: beta, bias: bias)
    }
  }

  /// LayerNormalization's checked attributes and inputs: the first normalized dimension,
  /// the number of elements normalized together, epsilon, and the scale and bias expanded
  /// to the normalized shape when they are constants (nil when computed, or the bias absent).
  private static func layerNormalizationParameters(_ context: NodeContext)
    throws(InferenceError)
    -> (axis: Int, inner: Int, epsilon: Float, scale: [Float]?, bias: [Float]?, hasBias: Bool)
  {
    try context.expectInputs(2...3)
    try context.expectOutputs(1...1)
    try context.expectFloats(0, 1, 2)
    let shape = try context.shape(0)
    let axis = try context.axis(try context.int("axis", default: -1), rank: shape.count)
    let normalized = Array(shape[axis...])
    let inner = normalized.reduce(1, *)
    let epsilon = try context.float("epsilon", default: 1e-5)
    if let stash = try context.int("stash_type"), stash != 1 {
      throw context.invalidAttribute("stash_type", "\(stash)", "only 1 (float) is supported")
    }
    /// The parameter as a full [inner] buffer: expanded when made if constant, else as given.
    func parameter(_ index: Int) throws(InferenceError) -> [Float]? {
      let given = try context.shape(index)
      let fits =
        given.count <= normalized.count
        && zip(given.reversed(), normalized.reversed()).allSatisfy { $0 == $1 || $0 == 1 }
      guard fits else {
        throw context.invalidInput(index, "must broadcast to the normalized shape \(normalized)")
      }
      guard let values = context.constant(index).flatMap({ $0.floatTensor?.scalars }) else {
        guard given.reduce(1, *) == inner else {
          throw context.invalidInput(
            index, "computed at run time, it must have the normalized shape \(normalized)")
        }
        return nil
      }
      let expanded = BroadcastBinary(.add, a: given, b: [], outputShape: normalized)
      var result = [Float](repeating: 0, count: inner)
      values.withUnsafeBufferPointer { v in
        [Float(0)].withUnsafeBufferPointer { zero in
          result.withUnsafeMutableBufferPointer { expanded.run(v, zero, into: $0) }
        }
      }
      return result
    }
    return (
      axis, inner, epsilon, try parameter(1), context.hasInput(2) ? try parameter(2) : nil,
      context.hasInput(2)
    )
  }

  /// Normalizes x over its dimensions from `axis` (default -1) on; scale and the optional
  /// B broadcast to those dimensions. Only output Y is computed.
  static func layerNormalization(_ context: NodeContext) throws(InferenceError)
    -> any CompiledOperator
  {
    let shape = try context.shape(0)
    let (_, inner, epsilon, scale, bias, hasBias) = try layerNormalizationParameters(context)
    guard inner > 0 else {
      return KernelOperator(context, outputs: [shape]) { _, _ in }
    }
    return KernelOperator(context, outputs: [shape], inPlace: true) { inputs, outputs in
      func with(
        _ kept: [Float]?, _ given: UnsafeBufferPointer<Float>,
        _ body: (UnsafeBufferPointer<Float>) -> Void
      ) {
        if let kept { kept.withUnsafeBufferPointer(body) } else { body(given) }
      }
      with(scale, inputs[1]) { scale in
        guard hasBias else {
          return Normalization.layer(
            inputs[0], scale: scale, bias: nil, epsilon: epsilon, into: outputs[0])
        }
        with(bias, inputs[2]) { bias in
          Normalization.layer(
            inputs[0], scale: scale, bias: bias, epsilon: epsilon, into: outputs[0])
        }
      }
    }
  }

  /// LayerNormalization over the channels of `transpose`'s output, when that moves the
  /// channels last (NCHW → NHWC) and they are exactly what is normalized, with a constant
  /// scale and bias: the two as one pass. Nil otherwise.
  static func layerNormalization(_ context: NodeContext, after transpose: MatrixTransposeOperator)
    throws(InferenceError) -> (any CompiledOperator)?
  {
    let (axis, inner, epsilon, scale, bias, hasBias) = try layerNormalizationParameters(context)
    guard transpose.scale == nil, !transpose.residual, axis == transpose.columnAxes.upperBound,
      inner == transpose.rows, inner > 0, let scale, bias != nil || !hasBias
    else { return nil }
    return TransposedLayerNormalization(
      transpose: transpose, scale: scale, bias: bias, epsilon: epsilon)
  }

  /// Softmax along `axis`: from opset 13 that one axis (default -1); before, x coerced to
  /// 2-D at `axis` (default 1), normalized over the flattened dimensions from axis on.
  static func softmax(_ context: NodeContext, logarithm: Bool) throws(InferenceError)
    -> any CompiledOperator
  {
    let shape = try context.singleInput()
    let legacy = context.opset < 13
    let given = try context.int("axis", default: legacy ? 1 : -1)
    let axis = try context.axis(given, rank: shape.count)
    let (length, inner) =
      legacy
      ? (shape[axis...].reduce(1, *), 1)
      : (shape[axis], shape[(axis + 1)...].reduce(1, *))
    return KernelOperator(context, outputs: [shape], inPlace: true) { inputs, outputs in
      Normalization.softmax(
        inputs[0], into: outputs[0], axis: length, inner: inner, logarithm: logarithm)
    }
  }
}

/// A matrix transpose that moves the channels last (NCHW → NHWC) and a layer normalization
/// over them, as one pass: each position's statistics read from the channel planes, the
/// normalized values transposed in registers.
final class TransposedLayerNormalization: CompiledOperator {
  let outputShapes: [[Int]]
  private let batch: Int, channels: Int, positions: Int
  private let scale: AlignedBuffer
  private let bias: AlignedBuffer?
  private let epsilon: Float

  init(transpose: MatrixTransposeOperator, scale: [Float], bias: [Float]?, epsilon: Float) {
    (batch, channels, positions) = (transpose.batch, transpose.rows, transpose.columns)
    outputShapes = transpose.outputShapes
    self.scale = AlignedBuffer(scale)
    self.bias = bias.map(AlignedBuffer.init)
    self.epsilon = epsilon
  }

  func run(inputs: [UnsafeBufferPointer<Float>?], outputs: [UnsafeMutableBufferPointer<Float>]) {
    guard let x = inputs[0]?.baseAddress, let y = outputs[0].baseAddress else { return }
    Normalization.layerOfTransposed(
      x, batch: batch, channels: channels, positions: positions,
      scale: UnsafePointer(scale.pointer), bias: bias.map { UnsafePointer($0.pointer) },
      epsilon: epsilon, into: y)
  }
}
