import Kernels
import Tensors

/// The fast kernels of one convolution, each made on first use and kept while the
/// convolution's shapes and weight stay the same: a layer keeps one, so that calling it again
/// does no planning or packing.
final class ConvolutionKernels: @unchecked Sendable {
  /// The convolution's geometry with any non-zero padding written into its input.
  let zeroPadded: ConvolutionGeometry
  /// The same, as the forward correlation (a transposed convolution's backward runs it).
  private let correlation: ConvolutionGeometry
  private var forwardKernel: Made<any ForwardKernel> = .unmade
  private var inputGradientKernel: Made<InputGradientKernel> = .unmade
  private var weightGradientKernel: Made<any WeightGradientKernel> = .unmade

  private enum Made<Kernel> {
    case unmade
    case made(Kernel?)
  }

  init(_ convolution: Convolution) {
    let g = convolution.geometry
    zeroPadded = g.paddingMode == .zeros ? g : g.explicitlyPadded
    var correlation = zeroPadded
    correlation.transposed = false
    correlation.hasBias = false
    self.correlation = correlation
  }

  /// Forgets the kernels that packed the weight; call when the weight changes.
  func weightChanged() {
    forwardKernel = .unmade
    inputGradientKernel = .unmade
  }

  /// y = x ⋆ w: the convolution's forward pass (or a transposed convolution's input gradient).
  func forward(_ weight: Tensor) -> (any ForwardKernel)? {
    if case .made(let kernel) = forwardKernel { return kernel }
    let kernel =
      correlation.multiplyAdds == 0
      ? nil : weight.withUnsafeBufferPointer { ForwardKernels.make(for: correlation, weight: $0) }
    forwardKernel = .made(kernel)
    return kernel
  }

  /// dx = wᵀ ⋆ dy: the convolution's input gradient (or a transposed convolution's forward).
  func inputGradient(_ weight: Tensor) -> InputGradientKernel? {
    if case .made(let kernel) = inputGradientKernel { return kernel }
    let kernel =
      correlation.multiplyAdds == 0
      ? nil : weight.withUnsafeBufferPointer { InputGradientKernel(correlation, weight: $0) }
    inputGradientKernel = .made(kernel)
    return kernel
  }

  /// dw = dy ⋆ x: the weight gradient, which does not depend on the weight.
  func weightGradient() -> (any WeightGradientKernel)? {
    if case .made(let kernel) = weightGradientKernel { return kernel }
    let kernel = WeightGradientKernels.make(for: correlation)
    weightGradientKernel = .made(kernel)
    return kernel
  }
}

// MARK: - Tensors in, pointers out

extension ForwardKernel {
  /// `forward` on tensors: x and the optional bias are read, y written.
  func forward(x: Tensor, bias: Tensor?, y: UnsafeMutablePointer<Float>) {
    x.withUnsafeBufferPointer { x in
      guard let bias else { return forward(x: x.baseAddress!, bias: nil, y: y) }
      bias.withUnsafeBufferPointer { b in forward(x: x.baseAddress!, bias: b.baseAddress!, y: y) }
    }
  }
}

extension InputGradientKernel {
  /// `run` on tensors: dy and the optional bias are read, dx written.
  func run(dy: Tensor, bias: Tensor?, dx: UnsafeMutablePointer<Float>) {
    dy.withUnsafeBufferPointer { dy in
      guard let bias else { return run(dy: dy.baseAddress!, bias: nil, dx: dx) }
      bias.withUnsafeBufferPointer { b in run(dy: dy.baseAddress!, bias: b.baseAddress!, dx: dx) }
    }
  }
}
