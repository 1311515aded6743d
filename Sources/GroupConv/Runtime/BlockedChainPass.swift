import Kernels

/// Runs a blocked depthwise (grouped) convolution together with the pointwise convolution
/// just before it whose output only it reads (an inverted-residual block's expansion), the
/// one just after it that alone reads its output (the projection), or both, in bands of rows
/// (`BlockedChain`), when the value between them is too large to stay in the L2 of the
/// cores that share it: the expansions to 48 and 96 channels at 112 × 112 of MnasNet,
/// MobileNetV2 and EfficientNet-B0 (2.4 and 4.8 MB) with their depthwise convolutions.
enum BlockedChainPass {
  /// Floats (blocked) from which a value between two convolutions is kept out of memory:
  /// 2 MiB, a core's L2 (1 MiB) for each of 2 threads. Smaller values stay in L2 anyway
  /// when the threads split both passes alike, and there the chain measured slower than the
  /// passes apart (MnasNet's blocks at 56 × 56 and 14 × 14: 0.59–0.76 ms against 0.53–0.55,
  /// 2 threads): its threads cannot balance bands as finely as the passes' ranges, and each
  /// range's first band expands the rows above it again.
  static let minimumFloats = 1 << 19

  /// Rewrites `steps`; `counts` has each blocked value's element count.
  static func apply(_ steps: inout [PlanStep], counts: [String: Int], graphOutputs: Set<String>) {
    var readers: [String: Int] = [:]
    for step in steps {
      for case let name? in step.inputs { readers[name, default: 0] += 1 }
    }
    /// The blocked convolution of step `index` and the value it reads as x, if it is one.
    func convolution(_ index: Int) -> (op: BlockedConvolutionOperator, x: String)? {
      guard steps.indices.contains(index), case let .compiled(op) = steps[index].work,
        let conv = op as? BlockedConvolutionOperator, conv.scaled == nil, !conv.kernel.planes,
        let x = steps[index].inputs[conv.residual ? 1 : 0]
      else { return nil }
      return (conv, x)
    }
    /// Whether step `from`'s output goes only to the step that reads it as `x`, and is large.
    func feeds(_ from: Int, x: String) -> Bool {
      let name = steps[from].outputs[0]
      return name == x && readers[name] == 1 && !graphOutputs.contains(name)
        && counts[name, default: 0] >= minimumFloats
    }
    var rewritten: [PlanStep] = []
    var index = 0
    while index < steps.count {
      // A depthwise step, the expansion just before it, and the projection just after it.
      guard let (dw, dwX) = convolution(index), case .grouped = dw.kernel.kind else {
        rewritten.append(steps[index])
        index += 1
        continue
      }
      var expand: BlockedConvolutionOperator? = nil
      if let (e, _) = convolution(index - 1), !e.residual, rewritten.last?.outputs == steps[index - 1].outputs,
        feeds(index - 1, x: dwX)
      {
        expand = e
      }
      var project: (op: BlockedConvolutionOperator, step: PlanStep)? = nil
      if !dw.residual, let (p, pX) = convolution(index + 1), feeds(index, x: pX) {
        project = (p, steps[index + 1])
      }
      func stage(_ op: BlockedConvolutionOperator) -> BlockedChain.Stage {
        BlockedChain.Stage(op.kernel, clamp: op.clamp, activation: op.activation?.vectorizedKind)
      }
      let last = project?.step ?? steps[index]
      let lastOp = project?.op ?? dw
      // Made unless the ends do not chain (or there are none).
      guard
        let chain = BlockedChain(
          expand: expand.map(stage), depthwise: stage(dw), project: project.map { stage($0.op) },
          residual: lastOp.residual)
      else {
        rewritten.append(steps[index])
        index += 1
        continue
      }
      var fused = last
      let x = expand != nil ? steps[index - 1].inputs[0] : dwX
      fused.inputs = lastOp.residual ? [last.inputs[0], x] : [x]
      fused.work = .compiled(
        BlockedChainOperator(chain, residual: lastOp.residual, shape: last.outputShapes[0]))
      let parts = (expand != nil ? [steps[index - 1]] : []) + [steps[index]]
        + (project != nil ? [project!.step] : [])
      fused.detail =
        parts.map { ($0.detail ?? "").replacing(" NCHW16c", with: "") }.joined(separator: " > ")
        + ", bands of \(chain.bandRows) rows NCHW16c"
      if expand != nil { rewritten.removeLast() }
      rewritten.append(fused)
      index += project != nil ? 2 : 1
    }
    steps = rewritten
  }
}

/// A `BlockedChain`: input 0 the residual when the chain adds one, then x; the output
/// blocked. It writes rows of the output while later bands still read rows of x (and of the
/// residual): never in place.
final class BlockedChainOperator: CompiledOperator {
  private let chain: BlockedChain
  private let residual: Bool
  private let shape: [Int]

  var outputShapes: [[Int]] { [shape] }

  init(_ chain: BlockedChain, residual: Bool, shape: [Int]) {
    self.chain = chain
    self.residual = residual
    self.shape = shape
  }

  func run(inputs: [UnsafeBufferPointer<Float>?], outputs: [UnsafeMutableBufferPointer<Float>]) {
    chain.forward(
      x: inputs[residual ? 1 : 0]!.baseAddress!, residual: residual ? inputs[0]!.baseAddress : nil,
      y: outputs[0].baseAddress!)
  }
}
