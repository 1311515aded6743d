import Kernels
import Tensors

/// Keeps chains of layers (the inverted-residual blocks of MobileNetV2, MnasNet and
/// EfficientNet with their squeeze-and-excitation gates, ShuffleNetV2's branches, SqueezeNet's
/// fire modules) in the channel-blocked layout (`BlockedLayout`), with one layout change
/// where a chain starts and one where it ends.
///
/// A value is kept blocked when the step that makes it and every step that reads it can run
/// blocked and read or write it there: a convolution a `BlockedConvolution` computes (its
/// input and a fused residual; a fused gate stays plain; a stem of few channels reads its
/// input plain), a max pooling, a Concat of whole blocks, a per-channel gate's Mul (the gate
/// stays plain), and a global average pooling or a ReduceMean over the positions (its output
/// is plain). Such a step runs
/// blocked when one of those values is blocked; its other ones are changed into the blocked
/// layout before it, and its output back after it when that is not blocked. A chain whose
/// layout changes would copy as much as it writes stays plain.
enum BlockedLayoutPass {
  /// Whether sessions keep chains blocked unless told otherwise: with the AVX-512 kernels.
  /// The blocked kernels' register tiles (up to 7 positions × 64 channels) are AVX-512's; in
  /// the AVX2 build they spill, and the plain kernels run these models faster (RegNetY-400MF
  /// 25 ms against 54, ResNeXt-50 161 against 322, MobileNetV2 17.0 against 19.4, as
  /// `groupconv bench --model` measured them both ways on an AVX2 EPYC).
  static var isDefault: Bool { Machine.usesAVX512 }

  /// How a step runs blocked.
  private struct Form {
    /// The positions of the inputs read blocked.
    var inputs: [Int]
    /// Whether output 0 is written blocked.
    var blockedOutput: Bool
    var detail: String
    var make: () -> any CompiledOperator
  }

  /// The step's form, unless a value it would read or write blocked is too large when its
  /// channels are padded to whole blocks (16 times a value of one channel): the padding
  /// must not take the plan past the size a runtime value may have.
  private static func form(of step: PlanStep, shapes: [String: [Int]]) -> Form? {
    guard let form = unboundedForm(of: step, shapes: shapes) else { return nil }
    let names = form.inputs.compactMap { step.inputs[$0] } + (form.blockedOutput ? [step.outputs[0]] : [])
    let fits = names.allSatisfy { name in
      shapes[name].map { BlockedLayout.count($0) <= ConstantFolding.maximumElementCount } ?? false
    }
    return fits ? form : nil
  }

  private static func unboundedForm(of step: PlanStep, shapes: [String: [Int]]) -> Form? {
    switch step.work {
    case let .convolution(draft):
      if BlockedConvolutionOperator.supportsPlainInput(draft) {
        // A stem: x stays plain, the output is blocked.
        return Form(
          inputs: [], blockedOutput: true, detail: draft.summary + " to NCHW16c",
          make: { BlockedConvolutionOperator(draft, plainInput: true) })
      }
      guard BlockedConvolutionOperator.supports(draft) else { return nil }
      // x, and the residual before it; not the gate, which comes last.
      let inputs = Array(0..<(draft.residual ? 2 : 1))
      return Form(
        inputs: inputs, blockedOutput: true, detail: draft.summary + " NCHW16c",
        make: { BlockedConvolutionOperator(draft) })
    case let .compiled(operation):
      guard let shape = step.outputShapes.first else { return nil }
      if operation is PlaneMeanOperator {
        // A ReduceMean over the positions: a global average pooling, its output [N, C].
        return Form(
          inputs: [0], blockedOutput: false, detail: "NCHW16c",
          make: { BlockedMeanOperator(shape: shape) })
      }
      guard shape.count == 4 else { return nil }
      switch step.opType {
      case "GlobalAveragePool":
        return Form(
          inputs: [0], blockedOutput: false, detail: "NCHW16c",
          make: { BlockedMeanOperator(shape: shape) })
      case "MaxPool":
        guard let pool = operation as? PoolingOperator, pool.pooling.kind == .max else { return nil }
        return Form(
          inputs: [0], blockedOutput: true, detail: "NCHW16c",
          make: { BlockedMaxPoolOperator(pool.pooling.geometry, outputShape: shape) })
      case "Mul":
        // A tensor by a per-channel gate [N or 1, C, 1, 1], both computed.
        guard step.inputs.count == 2, let a = step.inputs[0], let b = step.inputs[1],
          let aShape = shapes[a], let bShape = shapes[b]
        else { return nil }
        for (x, g) in [(0, 1), (1, 0)] {
          let (xShape, gShape) = x == 0 ? (aShape, bShape) : (bShape, aShape)
          guard xShape == shape, gShape.count == 4, gShape[1] == shape[1],
            gShape[0] == 1 || gShape[0] == shape[0], gShape[2] == 1, gShape[3] == 1,
            shape[2] * shape[3] > 1
          else { continue }
          return Form(
            inputs: [x], blockedOutput: true, detail: "gate NCHW16c",
            make: { BlockedGateOperator(shape: shape, gateInput: g, perImage: gShape[0] > 1) })
        }
        return nil
      case "Concat":
        // Along the channels of one image, every input whole blocks: the blocked inputs
        // laid end to end.
        guard shape[0] == 1, let lengths = operation.joinedInputLengths,
          lengths.count == step.inputs.count, step.inputs.allSatisfy({ $0 != nil }),
          let axis = step.node?.attribute("axis"), case let .int(value) = axis,
          value == 1 || value == -3
        else { return nil }
        let plane = shape[2] * shape[3]
        guard lengths.allSatisfy({ $0 % (plane * BlockedLayout.lanes) == 0 }) else { return nil }
        return Form(
          inputs: Array(step.inputs.indices), blockedOutput: true, detail: "NCHW16c",
          make: { BlockedConcatOperator(lengths: lengths, shape: shape) })
      default:
        return nil
      }
    }
  }

  /// Whether a step with `form` runs blocked, given the blocked values.
  private static func runsBlocked(_ step: PlanStep, _ form: Form?, _ blocked: Set<String>) -> Bool {
    guard let form else { return false }
    return (form.blockedOutput && blocked.contains(step.outputs[0]))
      || form.inputs.contains(where: { step.inputs[$0].map(blocked.contains) ?? false })
  }

  /// Chains whose layout changes would copy as much as their blocked steps write, or more
  /// (a lone convolution between steps that cannot run blocked, say, whose input and output
  /// would both be changed), go back to the plain layout. The blocked kernels are faster enough
  /// that a chain of three steps with a change in and one out still gains (ShuffleNetV2's
  /// branches: 2.45 ms against 2.77 all plain).
  private static func pruneCostlyChains(
    _ blocked: inout Set<String>, steps: [PlanStep], forms: [Form?], shapes: [String: [Int]]
  ) {
    // Chains: the blocked values joined through the steps that read or write them.
    var parent = Dictionary(uniqueKeysWithValues: blocked.map { ($0, $0) })
    func root(_ name: String) -> String {
      var name = name
      while let up = parent[name], up != name { name = up }
      return name
    }
    func elements(_ name: String) -> Int { shapes[name]!.reduce(1, *) }
    let running = steps.indices.filter { runsBlocked(steps[$0], forms[$0], blocked) }
    // Per running step, the blocked values it reads or writes blocked.
    let touched = running.map { index in
      let step = steps[index]
      return ([step.outputs[0]] + forms[index]!.inputs.compactMap { step.inputs[$0] })
        .filter(blocked.contains)
    }
    for names in touched {
      for name in names.dropFirst() { parent[root(name)] = root(names[0]) }
    }
    var written: [String: Int] = [:]
    var changed: [String: Int] = [:]
    var changedInputs: [String: Set<String>] = [:]
    for (index, names) in zip(running, touched) {
      let step = steps[index]
      guard let chain = names.first.map(root) else { continue }
      written[chain, default: 0] += elements(step.outputs[0])
      for position in forms[index]!.inputs {
        if let name = step.inputs[position], !blocked.contains(name),
          changedInputs[chain, default: []].insert(name).inserted
        {
          changed[chain, default: 0] += elements(name)
        }
      }
      if forms[index]!.blockedOutput, !blocked.contains(step.outputs[0]) {
        changed[chain, default: 0] += elements(step.outputs[0])
      }
    }
    let costly = Set(written.keys.filter { changed[$0, default: 0] >= written[$0]! })
    blocked = blocked.filter { !costly.contains(root($0)) }
  }

  /// Rewrites `steps` (in order, none removed). Returns the element count of each blocked
  /// value (its shape stays the plain one).
  static func apply(
    _ steps: inout [PlanStep], shapes: inout [String: [Int]], graphOutputs: Set<String>
  ) -> [String: Int] {
    let forms = steps.map { form(of: $0, shapes: shapes) }
    var producer: [String: Int] = [:]
    /// Each reading of a value: the step, and whether that step reads it blocked.
    var readings: [String: [Bool]] = [:]
    for (index, step) in steps.enumerated() {
      for name in step.outputs { producer[name] = index }
      for (position, input) in step.inputs.enumerated() {
        guard let name = input else { continue }
        readings[name, default: []].append(forms[index]?.inputs.contains(position) ?? false)
      }
    }
    var blocked: Set<String> = []
    for (name, index) in producer {
      guard forms[index]?.blockedOutput == true, steps[index].outputs.first == name,
        !graphOutputs.contains(name), let reads = readings[name], !reads.isEmpty,
        reads.allSatisfy({ $0 })
      else { continue }
      blocked.insert(name)
    }
    pruneCostlyChains(&blocked, steps: steps, forms: forms, shapes: shapes)
    guard !blocked.isEmpty else { return [:] }

    var counts: [String: Int] = [:]
    for name in blocked { counts[name] = BlockedLayout.count(shapes[name]!) }
    /// A new value in the blocked layout standing for `name` (of plain shape `shape`).
    func blockedTwin(of name: String, shape: [Int]) -> String {
      let twin = name + "\u{1}blocked"
      shapes[twin] = shape
      counts[twin] = BlockedLayout.count(shape)
      return twin
    }
    /// The blocked copy of each plain value some blocked step reads.
    var copies: [String: String] = [:]
    var rewritten: [PlanStep] = []
    for (index, step) in steps.enumerated() {
      guard let form = forms[index], runsBlocked(step, form, blocked) else {
        rewritten.append(step)
        continue
      }
      var step = step
      for position in form.inputs {
        guard let name = step.inputs[position], !blocked.contains(name) else { continue }
        if let copy = copies[name] {
          step.inputs[position] = copy
          continue
        }
        let shape = shapes[name]!
        let copy = blockedTwin(of: name, shape: shape)
        copies[name] = copy
        rewritten.append(LayoutChangeOperator.step(from: name, to: copy, shape: shape, toPlanes: false))
        step.inputs[position] = copy
      }
      step.work = .compiled(form.make())
      step.detail = form.detail
      let output = step.outputs[0]
      if !form.blockedOutput || blocked.contains(output) {
        rewritten.append(step)
      } else {
        let shape = step.outputShapes[0]
        let staged = blockedTwin(of: output, shape: shape)
        step.outputs[0] = staged
        rewritten.append(step)
        rewritten.append(LayoutChangeOperator.step(from: staged, to: output, shape: shape, toPlanes: true))
      }
    }
    steps = rewritten
    return counts
  }
}

/// A convolution in the blocked layout: its input, output and residual all blocked; a gate
/// folded into its weights for the run.
final class BlockedConvolutionOperator: CompiledOperator {
  let kernel: BlockedConvolution
  let clamp: [Float]?
  /// Applied after the clamp when not itself a clamp.
  let activation: Activation?
  /// Input 0 is a residual that y starts from; x is input 1.
  let residual: Bool
  /// With an input gate: the weights scaled by it for the run.
  let scaled: AlignedBuffer?
  private let shape: [Int]

  var outputShapes: [[Int]] { [shape] }
  var runsInPlace: Bool { residual }

  /// Whether `draft` runs blocked: a pointwise, depthwise or dense 2-D convolution of more
  /// than one position (a gate's 1×1 convolutions gain nothing), dense ones of 16 input
  /// channels or more (a stem's 3 would fill 3 lanes of 16), gated only when pointwise, whose
  /// activation is a clamp or a vectorized one finite at zero (the value the padding lanes
  /// then hold).
  static func supports(_ draft: ConvolutionDraft) -> Bool {
    guard let kind = BlockedConvolution.kind(of: draft.geometry),
      draft.geometry.ySize.reduce(1, *) > 1, !draft.inputScale || kind == .pointwise,
      kind != .dense || draft.geometry.xChannels >= BlockedLayout.lanes
    else { return false }
    return supportsActivation(draft)
  }

  /// Whether `draft` runs from a plain input into a blocked output: a dense 2-D convolution
  /// of fewer than 16 input channels (a network's stem), without a residual or a gate.
  static func supportsPlainInput(_ draft: ConvolutionDraft) -> Bool {
    guard BlockedConvolution.kind(of: draft.geometry) == .dense,
      draft.geometry.xChannels < BlockedLayout.lanes, draft.geometry.ySize.reduce(1, *) > 1,
      !draft.inputScale, !draft.residual
    else { return false }
    return supportsActivation(draft)
  }

  private static func supportsActivation(_ draft: ConvolutionDraft) -> Bool {
    switch draft.activation {
    case nil, .relu?, .clip?: return true
    case .exp?: return false
    case let activation?: return activation.vectorizedKind != nil
    }
  }

  /// - Parameter plainInput: x is plain (`supportsPlainInput`).
  init(_ draft: ConvolutionDraft, plainInput: Bool = false) {
    kernel = draft.weight.withUnsafeBufferPointer { w in
      draft.bias.withUnsafeBufferPointer { b in
        BlockedConvolution(draft.geometry, weight: w, bias: b, planes: plainInput)!
      }
    }
    clamp = draft.clampBounds
    activation = clamp == nil ? draft.activation : nil
    residual = draft.residual
    scaled = draft.inputScale ? AlignedBuffer(count: kernel.weightCount) : nil
    shape = draft.outputShape
  }

  func run(inputs: [UnsafeBufferPointer<Float>?], outputs: [UnsafeMutableBufferPointer<Float>]) {
    let x = inputs[residual ? 1 : 0]!
    let y = outputs[0]
    if residual, let r = inputs[0] { copyIfDistinct(r, y) }
    if let scaled, let gate = inputs.last! {
      kernel.scaleWeights(by: gate.baseAddress!, into: scaled.pointer)
    }
    withOptional(clamp) { clamp in
      kernel.forward(
        x: x.baseAddress!, y: y.baseAddress!, clamp: clamp,
        activation: activation?.vectorizedKind, adding: residual,
        weights: scaled.map { UnsafePointer($0.pointer) })
    }
  }
}

/// A global average pooling of a blocked input into a plain output.
final class BlockedMeanOperator: CompiledOperator {
  private let shape: [Int]
  var outputShapes: [[Int]] { [shape] }

  /// - Parameter shape: the output's, [N, C, 1...].
  init(shape: [Int]) { self.shape = shape }

  func run(inputs: [UnsafeBufferPointer<Float>?], outputs: [UnsafeMutableBufferPointer<Float>]) {
    let x = inputs[0]!
    let perImage = x.count / shape[0]
    let positions = perImage / (BlockedLayout.blocks(shape[1]) * BlockedLayout.lanes)
    BlockedLayout.mean(
      x.baseAddress!, into: outputs[0].baseAddress!, shape: [shape[0], shape[1], positions])
  }
}

/// A change between the plain layout and the blocked one.
final class LayoutChangeOperator: CompiledOperator {
  private let shape: [Int]
  private let toPlanes: Bool

  var outputShapes: [[Int]] { [shape] }

  init(shape: [Int], toPlanes: Bool) {
    self.shape = shape
    self.toPlanes = toPlanes
  }

  /// The step that writes value `from` into value `to` in the other layout.
  static func step(from: String, to: String, shape: [Int], toPlanes: Bool) -> PlanStep {
    var step = PlanStep(
      opType: "Reorder", work: .compiled(LayoutChangeOperator(shape: shape, toPlanes: toPlanes)),
      inputs: [from], outputs: [to], outputShapes: [shape])
    step.detail = toPlanes ? "to NCHW" : "to NCHW16c"
    return step
  }

  func run(inputs: [UnsafeBufferPointer<Float>?], outputs: [UnsafeMutableBufferPointer<Float>]) {
    BlockedLayout.convert(
      inputs[0]!.baseAddress!, into: outputs[0].baseAddress!, shape: shape, toPlanes: toPlanes)
  }
}

/// A max pooling of a blocked input into a blocked output, 2-D.
final class BlockedMaxPoolOperator: CompiledOperator {
  private let geometry: PoolGeometry
  private let shape: [Int]
  var outputShapes: [[Int]] { [shape] }

  init(_ geometry: PoolGeometry, outputShape: [Int]) {
    self.geometry = geometry
    shape = outputShape
  }

  func run(inputs: [UnsafeBufferPointer<Float>?], outputs: [UnsafeMutableBufferPointer<Float>]) {
    BlockedLayout.maxPool(
      inputs[0]!.baseAddress!, into: outputs[0].baseAddress!, geometry,
      blocks: shape[0] * BlockedLayout.blocks(shape[1]))
  }
}

/// A Concat along the channels of one image whose inputs are whole blocks: blocked, the
/// inputs end to end (the plan usually has their steps write them in place).
final class BlockedConcatOperator: CompiledOperator {
  private let counts: [Int]
  private let shape: [Int]
  var outputShapes: [[Int]] { [shape] }
  var joinedInputLengths: [Int]? { counts }

  /// - Parameter lengths: the plain inputs' element counts (whole blocks: the same blocked).
  init(lengths: [Int], shape: [Int]) {
    counts = lengths
    self.shape = shape
  }

  func run(inputs: [UnsafeBufferPointer<Float>?], outputs: [UnsafeMutableBufferPointer<Float>]) {
    var offset = 0
    for (input, count) in zip(inputs, counts) {
      if let x = input {
        copyIfDistinct(x, UnsafeMutableBufferPointer(rebasing: outputs[0][offset..<(offset + count)]))
      }
      offset += count
    }
  }
}

/// A blocked tensor multiplied channel by channel by a plain gate [N or 1, C, 1, 1].
final class BlockedGateOperator: CompiledOperator {
  private let shape: [Int]
  private let gateInput: Int
  private let perImage: Bool
  private let padded: AlignedBuffer
  var outputShapes: [[Int]] { [shape] }
  var runsInPlace: Bool { gateInput == 1 }

  init(shape: [Int], gateInput: Int, perImage: Bool) {
    self.shape = shape
    self.gateInput = gateInput
    self.perImage = perImage
    let images = perImage ? shape[0] : 1
    padded = AlignedBuffer(count: images * BlockedLayout.blocks(shape[1]) * BlockedLayout.lanes)
  }

  func run(inputs: [UnsafeBufferPointer<Float>?], outputs: [UnsafeMutableBufferPointer<Float>]) {
    BlockedLayout.gate(
      inputs[1 - gateInput]!.baseAddress!, by: inputs[gateInput]!.baseAddress!,
      perImage: perImage, into: outputs[0].baseAddress!, shape: shape, padded: padded.pointer)
  }
}
