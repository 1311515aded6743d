import Kernels
import Tensors

/// Keeps chains of pointwise and depthwise convolutions (the inverted-residual blocks of
/// MobileNetV2, MnasNet and their kin) in the channel-blocked layout (`BlockedLayout`), with
/// one layout change where a chain starts and one where it ends.
///
/// A value is kept blocked when the step that makes it and every step that reads it are
/// convolutions a `BlockedConvolution` computes (a fused residual counting as a read). A
/// convolution runs blocked when its output or an input is blocked; its other inputs are
/// changed into the blocked layout before it, and its output back after it when that is not
/// blocked.
enum BlockedLayoutPass {
  /// Rewrites `steps` (in order, none removed). Returns the element count of each blocked
  /// value (its shape stays the plain one).
  static func apply(
    _ steps: inout [PlanStep], shapes: inout [String: [Int]], graphOutputs: Set<String>
  ) -> [String: Int] {
    func eligible(_ step: PlanStep) -> ConvolutionDraft? {
      guard case let .convolution(draft) = step.work, BlockedConvolutionOperator.supports(draft)
      else { return nil }
      return draft
    }
    var producer: [String: Int] = [:]
    var readers: [String: [Int]] = [:]
    for (index, step) in steps.enumerated() {
      for name in step.outputs { producer[name] = index }
      for case let name? in step.inputs { readers[name, default: []].append(index) }
    }
    var blocked: Set<String> = []
    for (name, index) in producer where eligible(steps[index]) != nil {
      guard !graphOutputs.contains(name), let reading = readers[name], !reading.isEmpty,
        reading.allSatisfy({ eligible(steps[$0]) != nil })
      else { continue }
      blocked.insert(name)
    }
    guard !blocked.isEmpty else { return [:] }

    var counts: [String: Int] = [:]
    for name in blocked { counts[name] = BlockedLayout.count(shapes[name]!) }
    /// The blocked copy of each plain value some blocked step reads.
    var copies: [String: String] = [:]
    var rewritten: [PlanStep] = []
    for step in steps {
      let runsBlocked =
        eligible(step) != nil
        && (blocked.contains(step.outputs[0]) || step.inputs.contains { $0.map(blocked.contains) ?? false })
      guard runsBlocked, let draft = eligible(step) else {
        rewritten.append(step)
        continue
      }
      var step = step
      step.inputs = step.inputs.map { input in
        guard let name = input, !blocked.contains(name) else { return input }
        if let copy = copies[name] { return copy }
        let copy = name + "\u{1}blocked"
        let shape = shapes[name]!
        shapes[copy] = shape
        counts[copy] = BlockedLayout.count(shape)
        copies[name] = copy
        rewritten.append(LayoutChangeOperator.step(from: name, to: copy, shape: shape, toPlanes: false))
        return copy
      }
      step.work = .compiled(BlockedConvolutionOperator(draft))
      step.detail = draft.summary + " NCHW16c"
      let output = step.outputs[0]
      if blocked.contains(output) {
        rewritten.append(step)
      } else {
        let staged = output + "\u{1}blocked"
        let shape = step.outputShapes[0]
        shapes[staged] = shape
        counts[staged] = BlockedLayout.count(shape)
        step.outputs[0] = staged
        rewritten.append(step)
        rewritten.append(LayoutChangeOperator.step(from: staged, to: output, shape: shape, toPlanes: true))
      }
    }
    steps = rewritten
    return counts
  }
}

/// A convolution in the blocked layout: its input, output and residual all blocked.
final class BlockedConvolutionOperator: CompiledOperator {
  private let kernel: BlockedConvolution
  private let clamp: [Float]?
  /// Applied after the clamp when not itself a clamp.
  private let activation: Activation?
  private let residual: Bool
  private let shape: [Int]

  var outputShapes: [[Int]] { [shape] }
  var runsInPlace: Bool { residual }

  /// Whether `draft` runs blocked: a pointwise or depthwise 2-D convolution without an input
  /// gate, whose activation is a clamp or a vectorized one finite at zero (the value the
  /// padding lanes then hold).
  static func supports(_ draft: ConvolutionDraft) -> Bool {
    guard !draft.inputScale, BlockedConvolution.kind(of: draft.geometry) != nil else { return false }
    switch draft.activation {
    case nil, .relu?, .clip?: return true
    case .exp?: return false
    case let activation?: return activation.vectorizedKind != nil
    }
  }

  init(_ draft: ConvolutionDraft) {
    kernel = draft.weight.withUnsafeBufferPointer { w in
      draft.bias.withUnsafeBufferPointer { b in BlockedConvolution(draft.geometry, weight: w, bias: b)! }
    }
    switch draft.activation {
    case .relu?: clamp = [0, .infinity]
    case let .clip(low, high)?: clamp = [low, high]
    default: clamp = nil
    }
    activation = clamp == nil ? draft.activation : nil
    residual = draft.residual
    shape = draft.outputShape
  }

  func run(inputs: [UnsafeBufferPointer<Float>?], outputs: [UnsafeMutableBufferPointer<Float>]) {
    let x = inputs[residual ? 1 : 0]!
    let y = outputs[0]
    if residual, let r = inputs[0], r.baseAddress != UnsafePointer(y.baseAddress) {
      _ = y.update(fromContentsOf: r)
    }
    let run = { (clamp: UnsafePointer<Float>?) in
      self.kernel.forward(
        x: x.baseAddress!, y: y.baseAddress!, clamp: clamp, activation: self.activation?.vectorizedKind,
        adding: self.residual)
    }
    if let clamp { clamp.withUnsafeBufferPointer { run($0.baseAddress!) } } else { run(nil) }
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
