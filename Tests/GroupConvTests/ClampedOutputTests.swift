import Kernels
import Tensors
import TestSupport
import Testing

/// A ReLU or clip fused into a kernel's output pass gives the reference clamped, for every
/// forward algorithm: direct (depthwise, small groups), channel lanes (depthwise 5×5 of a
/// small plane), GEMM tiles (several K blocks, so the clamp must wait for the last), GEMM
/// columns (small planes), and the transposed convolution through the input-gradient kernel;
/// and so does an activation fused after the clamp, for the forward kernels.
extension KernelSettingsSuites {
  @Suite struct ClampedOutputTests {
    typealias Case = InputGradientTests.Case

    static let cases: [Case] = [
      Case(input: [1, 16, 9, 20], weight: [16, 1, 3, 3], options: .init(padding: 1, groups: 16)),
      Case(input: [1, 20, 7, 7], weight: [20, 1, 5, 5], options: .init(padding: 2, groups: 20)),
      Case(input: [2, 8, 7, 18], weight: [16, 2, 3, 3], options: .init(stride: 2, padding: 1, groups: 4)),
      Case(input: [1, 24, 12, 13], weight: [20, 24, 1, 1], options: .init()),
      Case(input: [1, 300, 6, 7], weight: [9, 300, 3, 3], options: .init(padding: 1)),
      Case(input: [1, 40, 3, 3], weight: [70, 40, 1, 1], options: .init()),
      Case(input: [1, 6, 5, 4], weight: [6, 3, 3, 3], options: .init(stride: 2, padding: 1, groups: 2, transposed: true)),
    ]

    @Test(arguments: cases, [nil, Activation.silu, .hardSwish])
    func clampedOutputIsTheReferenceClamped(_ c: Case, then activation: Activation?) throws {
      guard activation == nil || !c.options.transposed else { return }
      let g = try ConvolutionGeometry(
        inputShape: c.input, weightShape: c.weight, biasShape: nil, options: c.options)
      let x = try Tensor.random(shape: g.inputShape, seed: 1)
      let w = try Tensor.random(shape: c.weight, seed: 2)
      let b = try Tensor.random(shape: [g.outputChannels], seed: 3)
      var expected =
        g.transposed
        ? Reference.correlateInputGradient(dy: x.scalars, w: w.scalars, g)
        : Reference.correlate(x: x.scalars, w: w.scalars, g)
      Reference.addBias(
        b.scalars, to: &expected, channels: g.outputChannels,
        plane: g.outputShape[2...].reduce(1, *))
      let bounds: [Float] = [-0.25, 0.5]
      expected = expected.map { min(max($0, bounds[0]), bounds[1]) }
      if let activation { expected = expected.map(activation.value) }
      try forEachKernelConfiguration { configuration in
        var correlation = g
        correlation.transposed = false
        correlation.hasBias = false
        var y = [Float](repeating: .nan, count: expected.count)
        try w.withUnsafeBufferPointer { w in
          try x.withUnsafeBufferPointer { x in
            try b.withUnsafeBufferPointer { b in
              try bounds.withUnsafeBufferPointer { clamp in
                try y.withUnsafeMutableBufferPointer { y in
                  if g.transposed {
                    let kernel = try #require(InputGradientKernel(correlation, weight: w))
                    kernel.run(
                      dy: x.baseAddress!, bias: b.baseAddress!, dx: y.baseAddress!,
                      clamp: clamp.baseAddress!)
                  } else {
                    let kernel = try #require(
                      ForwardKernels.make(for: correlation, weight: w) as? any FusingForwardKernel)
                    kernel.forward(
                      x: x.baseAddress!, bias: b.baseAddress!, y: y.baseAddress!,
                      clamp: clamp.baseAddress!, activation: activation?.vectorizedKind,
                      adding: false)
                  }
                }
              }
            }
          }
        }
        expectClose(
          Tensor(validShape: g.outputShape, scalars: y),
          Tensor(validShape: g.outputShape, scalars: expected), Tolerance(absolute: 1e-4, relative: 1e-4),
          "\(c) then \(String(describing: activation)), \(configuration)")
      }
    }
  }
}
