import Formats
import Kernels
import Tensors

/// An ONNX `Conv` or `ConvTranspose` before it is compiled: its attributes checked and its
/// weight and bias held as values, so that a following `BatchNormalization`, a per-channel
/// `Mul` or `Add`, the `Add` of a residual and an activation can be folded into it.
struct ConvolutionDraft {
  /// The convolution, always with a bias (zeros when the node has none).
  var convolution: Convolution
  var weight: [Float]
  var bias: [Float]
  /// Applied last: after the residual, when there is one.
  var activation: Activation?
  /// Whether a tensor of the output's shape (the step's first input, before x) is added to
  /// the output, before the activation.
  var residual = false
  /// Whether x is multiplied, channel by channel, by a tensor of shape [1, C_in, 1...] (the
  /// step's last input) before the convolution: a squeeze-and-excitation gate.
  var inputScale = false

  var geometry: ConvolutionGeometry { convolution.geometry }
  var outputChannels: Int { geometry.outputChannels }
  var outputShape: [Int] { convolution.outputShape }

  /// Reads a `Conv` (or `ConvTranspose`) node whose weight and bias are constants.
  init(_ context: NodeContext) throws(InferenceError) {
    let transposed = context.opType == "ConvTranspose"
    try context.expectInputs(2...3)
    let x = try context.shape(0)
    let w = try context.shape(1)
    guard let weightValue = context.constant(1), case let .float(_, weight) = weightValue else {
      throw context.constant(1) == nil
        ? .notConstant(opType: context.opType, node: context.name, input: context.node.inputs[1])
        : context.invalidInput(1, "the weight must hold floats")
    }
    guard w.count >= 3, w.count <= 5 else {
      throw context.invalidInput(1, "the weight must have 3 to 5 dimensions (1 to 3 spatial)")
    }
    let rank = w.count - 2
    guard x.count == w.count else {
      throw context.invalidInput(0, "the input must have the weight's rank, \(w.count)")
    }
    let kernel = Array(w[2...])
    if let kernelShape = try context.ints("kernel_shape"), kernelShape != kernel {
      throw context.invalidAttribute(
        "kernel_shape", "\(kernelShape)", "must equal the weight's spatial shape \(kernel)")
    }
    let strides = try Self.perDimension(context, "strides", rank: rank)
    let dilations = try Self.perDimension(context, "dilations", rank: rank)
    let groups = try context.int("group", default: 1)
    guard groups >= 1 else { throw context.invalidAttribute("group", "\(groups)", "must be positive") }
    // A transposed convolution's output channels are the weight's times the groups.
    guard !transposed || !w[1].multipliedReportingOverflow(by: groups).overflow else {
      throw context.invalidAttribute(
        "group", "\(groups)", "times the weight's \(w[1]) channels overflows")
    }
    let outputPadding =
      transposed ? try Self.perDimension(context, "output_padding", rank: rank, default: 0)
      : Array(repeating: 0, count: rank)
    let spatial = Array(x[2...])
    let effective = zip(kernel, dilations).map { k, d in (k - 1) * d + 1 }
    var pads = try context.ints("pads") ?? Array(repeating: 0, count: 2 * rank)
    guard pads.count == 2 * rank, pads.allSatisfy({ $0 >= 0 }) else {
      throw context.invalidAttribute(
        "pads", "\(pads)", "must hold \(2 * rank) non-negative values, all begins then all ends")
    }
    try context.checkWindowValues("pads", pads)
    let outputShape = transposed ? try context.ints("output_shape") : nil
    if let outputShape {
      // ConvTranspose: the padding that gives the requested output size.
      let sizes = Array(outputShape.suffix(rank))
      guard sizes.count == rank, sizes.allSatisfy({ $0 >= 1 }) else {
        throw context.invalidAttribute(
          "output_shape", "\(outputShape)", "must give \(rank) positive spatial sizes")
      }
      try context.checkWindowValues("output_shape", sizes)
      let upper = try context.string("auto_pad") == "SAME_UPPER"
      for i in 0..<rank {
        let total = strides[i] * (spatial[i] - 1) + outputPadding[i] + effective[i] - sizes[i]
        guard total >= 0 else {
          throw context.invalidAttribute(
            "output_shape", "\(outputShape)",
            "must not exceed the unpadded output size, \(total + sizes[i]) in dimension \(i)")
        }
        (pads[i], pads[rank + i]) = NodeContext.splitPad(total, upper: upper)
      }
    } else {
      pads = try context.autoPads(pads, rank: rank) { i in
        transposed
          // The output is input · stride.
          ? max(0, strides[i] * (spatial[i] - 1) + outputPadding[i] + effective[i]
            - spatial[i] * strides[i])
          : NodeContext.samePadding(input: spatial[i], stride: strides[i], extent: effective[i])
      }
    }
    let options = ConvolutionOptions(
      stride: PerDimension(strides), padding: .explicit(pads),
      dilation: PerDimension(dilations), groups: groups, transposed: transposed,
      outputPadding: PerDimension(outputPadding))
    let channels = transposed ? w[1] * groups : w[0]
    do {
      convolution = try Convolution(
        inputShape: x, weightShape: w, biasShape: [channels], options: options,
        operation: context.opType)
    } catch {
      throw .convolution(node: context.name, error)
    }
    self.weight = weight
    if context.hasInput(2) {
      guard let value = context.constant(2), case let .float(shape, bias) = value else {
        throw context.constant(2) == nil
          ? .notConstant(opType: context.opType, node: context.name, input: context.node.inputs[2])
          : context.invalidInput(2, "the bias must hold floats")
      }
      guard shape == [channels] else {
        throw context.invalidInput(2, "the bias must have shape [\(channels)]")
      }
      self.bias = bias
    } else {
      self.bias = Array(repeating: 0, count: channels)
    }
  }

  /// The integers of attribute `name`, one per spatial dimension and positive.
  private static func perDimension(
    _ context: NodeContext, _ name: String, rank: Int, default fallback: Int = 1
  ) throws(InferenceError) -> [Int] {
    guard let values = try context.ints(name) else {
      return Array(repeating: fallback, count: rank)
    }
    let minimum = fallback == 0 ? 0 : 1
    guard values.count == rank, values.allSatisfy({ $0 >= minimum }) else {
      throw context.invalidAttribute(
        name, "\(values)",
        "must hold \(rank) \(minimum == 0 ? "non-negative" : "positive") values")
    }
    try context.checkWindowValues(name, values)
    return values
  }

  // MARK: Folding

  /// y = scale[c] · y for each output channel c: the weight's slice that makes channel c
  /// is scaled, and the bias with it.
  mutating func scaleOutputChannels(by scale: [Float]) {
    precondition(scale.count == outputChannels && activation == nil)
    let g = geometry
    let plane = g.kernel.reduce(1, *)
    if g.transposed {
      // Weight [C_in, C_out / groups, k...]: input channel i of group i / (C_in / groups)
      // feeds output channel group * (C_out / groups) + j through w[i, j]. (The geometry is
      // the correlation's, whose y is the transposed convolution's input.)
      let inputChannels = g.yChannels
      let perGroupIn = inputChannels / g.groups
      let perGroupOut = g.outputChannels / g.groups
      for i in 0..<inputChannels {
        for j in 0..<perGroupOut {
          let s = scale[(i / perGroupIn) * perGroupOut + j]
          let start = (i * perGroupOut + j) * plane
          for k in start..<(start + plane) { weight[k] *= s }
        }
      }
    } else {
      let perOutput = weight.count / outputChannels
      for o in 0..<outputChannels {
        for k in (o * perOutput)..<((o + 1) * perOutput) { weight[k] *= scale[o] }
      }
    }
    for o in 0..<outputChannels { bias[o] *= scale[o] }
  }

  /// y = y + shift[c] for each output channel c.
  mutating func shiftOutputChannels(by shift: [Float]) {
    precondition(shift.count == outputChannels && activation == nil)
    for o in 0..<outputChannels { bias[o] += shift[o] }
  }

  /// ReLU and clip as the bounds a kernel clamps its stores to; nil for other activations.
  var clampBounds: [Float]? {
    switch activation {
    case .relu?: return [0, .infinity]
    case let .clip(low, high)?: return [low, high]
    default: return nil
    }
  }

  func compiled() -> ConvolutionOperator { ConvolutionOperator(self) }

  /// `3x3 g32 s2 +Relu`: kernel, groups, stride and activation, for step listings.
  var summary: String {
    let g = geometry
    var text = g.kernel.map(String.init).joined(separator: "x")
    if g.groups > 1 { text += " g\(g.groups)" }
    if g.stride.contains(where: { $0 > 1 }) { text += " s" + g.stride.map(String.init).joined(separator: "x") }
    if inputScale { text += " +input scale" }
    if residual { text += " +residual" }
    if let activation { text += " +\(activation)" }
    return text
  }
}

/// A compiled convolution: the fast kernel with its weight packed, the bias, an input gate
/// folded into the weights for the run, a residual added, and the activation applied to the
/// output.
final class ConvolutionOperator: CompiledOperator {
  let convolution: Convolution
  let weight: Tensor
  let bias: Tensor
  let activation: Activation?
  let residual: Bool
  let inputScale: Bool
  /// ReLU and clip as the bounds the kernels clamp their stores to; nil for the other
  /// activations (`afterwards`), which a fusing kernel applies as it stores when they are
  /// vectorized, and a pass over the output applies otherwise.
  private let clamp: [Float]?
  private let afterwards: Activation?
  private let forwardKernel: (any ForwardKernel)?
  private let transposedKernel: InputGradientKernel?
  /// The plain output, for a residual the kernel cannot add as it stores (runs are
  /// serialized by the plan).
  private let unfused: AlignedBuffer?
  /// With an input scale and the GEMM kernel: the kernel, and its weights scaled for the run.
  private let scaling: (kernel: GemmConvolution, panels: AlignedBuffer)?
  /// With an input scale and another kernel: the gate's Mul, and x scaled by it for the run.
  private let gating: (mul: BroadcastBinary, input: AlignedBuffer)?

  var outputShapes: [[Int]] { [convolution.outputShape] }
  /// With a residual, y may be the residual's buffer: each kernel reads an element of y
  /// before it writes it, or writes a separate buffer first.
  var runsInPlace: Bool { residual }

  init(_ draft: ConvolutionDraft) {
    convolution = draft.convolution
    weight = Tensor(validShape: draft.convolution.weightShape, scalars: draft.weight)
    bias = Tensor(validShape: [draft.outputChannels], scalars: draft.bias)
    activation = draft.activation
    residual = draft.residual
    inputScale = draft.inputScale
    clamp = draft.clampBounds
    afterwards = clamp == nil ? draft.activation : nil
    let kernels = ConvolutionKernels(draft.convolution)
    if draft.geometry.transposed {
      forwardKernel = nil
      transposedKernel = kernels.inputGradient(weight)
    } else {
      // With an input gate, a dense convolution takes the matrix product, which folds the
      // gate into its weights, rather than a kernel that would read a gated copy of x.
      let gated =
        draft.inputScale && draft.geometry.groups == 1
        ? weight.withUnsafeBufferPointer { GemmConvolution(draft.geometry, weight: $0) } : nil
      forwardKernel = gated ?? kernels.forward(weight)
      transposedKernel = nil
    }
    let adds = (forwardKernel as? any FusingForwardKernel)?.addsToOutput ?? false
    unfused =
      draft.residual && !adds ? AlignedBuffer(count: draft.outputShape.reduce(1, *)) : nil
    let gemm = draft.inputScale ? forwardKernel as? GemmConvolution : nil
    scaling = gemm.map { ($0, AlignedBuffer(count: $0.panelCount)) }
    let xShape = draft.convolution.inputShape
    let gateShape = [1, xShape[1]] + Array(repeating: 1, count: xShape.count - 2)
    gating =
      draft.inputScale && gemm == nil
      ? (
        BroadcastBinary(.multiply, a: xShape, b: gateShape, outputShape: xShape),
        AlignedBuffer(count: xShape.reduce(1, *))
      ) : nil
  }

  func run(inputs: [UnsafeBufferPointer<Float>?], outputs: [UnsafeMutableBufferPointer<Float>]) {
    var x = inputs[residual ? 1 : 0]!
    let y = outputs[0]
    if inputScale, let scale = inputs.last! {
      if let scaling {
        scaling.kernel.scalePanels(by: scale.baseAddress!, into: scaling.panels.pointer)
      } else if let gating {
        gating.mul.run(x, scale, into: gating.input.buffer)
        x = UnsafeBufferPointer(gating.input.buffer)
      }
    }
    if let kernel = forwardKernel as? any FusingForwardKernel, !residual || kernel.addsToOutput {
      // Everything as the kernel stores its output: the residual (copied into y first unless
      // y is its buffer), the clamp and a vectorized activation.
      if residual, let r = inputs[0] { copyIfDistinct(r, y) }
      let fused = afterwards?.vectorizedKind
      bias.withUnsafeBufferPointer { b in
        withOptional(self.clamp) { clamp in
          if let scaling {
            scaling.kernel.forward(
              x: x.baseAddress!, bias: b.baseAddress!, y: y.baseAddress!, clamp: clamp,
              activation: fused, adding: residual, panels: scaling.panels.pointer)
          } else {
            kernel.forward(
              x: x.baseAddress!, bias: b.baseAddress!, y: y.baseAddress!, clamp: clamp,
              activation: fused, adding: residual)
          }
        }
      }
      if fused == nil { afterwards?.apply(y) }
      return
    }
    // Without a residual, into y; with one, into a buffer of its own first, then added.
    let target = unfused?.buffer ?? y
    let clamp = residual ? nil : self.clamp
    if let kernel = forwardKernel {
      bias.withUnsafeBufferPointer { b in
        withOptional(clamp) { clamp in
          kernel.forward(
            x: x.baseAddress!, bias: b.baseAddress!, y: target.baseAddress!, clamp: clamp)
        }
      }
    } else if let kernel = transposedKernel {
      bias.withUnsafeBufferPointer { b in
        withOptional(clamp) { clamp in
          kernel.run(dy: x.baseAddress!, bias: b.baseAddress!, dx: target.baseAddress!, clamp: clamp)
        }
      }
    } else if target.count > 0 {
      // Nothing to multiply (an empty input or kernel): the reference writes bias only.
      let input = Tensor(validShape: convolution.inputShape, scalars: Array(x))
      let result = (try? convolution.forward(input, weight: weight, bias: bias))?.scalars
      for i in target.indices { target[i] = result?[i] ?? 0 }
      if !residual {
        activation?.apply(y)
        return
      }
    }
    if residual, let r = inputs[0] {
      let (low, high) = (self.clamp?[0] ?? -.infinity, self.clamp?[1] ?? .infinity)
      for i in y.indices { y[i] = Swift.min(Swift.max(target[i] + r[i], low), high) }
    }
    afterwards?.apply(y)
  }

}

/// `body` with a pointer to `values`, or nil when there are none (a kernel's clamp bounds).
func withOptional(_ values: [Float]?, _ body: (UnsafePointer<Float>?) -> Void) {
  guard let values else { return body(nil) }
  values.withUnsafeBufferPointer { body($0.baseAddress!) }
}
