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
      let (g, x, w, b, sums) = try Self.problem(c)
      var expected = sums
      Reference.addBias(
        b.scalars, to: &expected, channels: g.outputChannels,
        plane: g.outputShape[2...].reduce(1, *))
      let bounds: [Float] = [-0.25, 0.5]
      expected = expected.map { min(max($0, bounds[0]), bounds[1]) }
      if let activation { expected = expected.map(activation.value) }
      try forEachKernelConfiguration { configuration in
        let y = try Self.clampedOutput(g, x: x, w: w, b: b, bounds: bounds, then: activation)
        expectClose(
          Tensor(validShape: g.outputShape, scalars: y),
          Tensor(validShape: g.outputShape, scalars: expected), Tolerance(absolute: 1e-4, relative: 1e-4),
          "\(c) then \(String(describing: activation)), \(configuration)")
      }
    }

    /// The geometry of `c`, random x, w and b, and the reference sums (no bias); with
    /// `nanAt`, x holds a NaN at that fraction of its length.
    static func problem(_ c: Case, nanAt: Double? = nil) throws -> (
      ConvolutionGeometry, Tensor, Tensor, Tensor, [Float]
    ) {
      let g = try ConvolutionGeometry(
        inputShape: c.input, weightShape: c.weight, biasShape: nil, options: c.options)
      var scalars = try Tensor.random(shape: g.inputShape, seed: 1).scalars
      if let nanAt { scalars[Int(Double(scalars.count) * nanAt)] = .nan }
      let x = Tensor(validShape: g.inputShape, scalars: scalars)
      let w = try Tensor.random(shape: c.weight, seed: 2)
      let b = try Tensor.random(shape: [g.outputChannels], seed: 3)
      let sums =
        g.transposed
        ? Reference.correlateInputGradient(dy: x.scalars, w: w.scalars, g)
        : Reference.correlate(x: x.scalars, w: w.scalars, g)
      return (g, x, w, b, sums)
    }

    /// The output of `g`'s fast kernel with `bounds` (and `activation`) fused, from NaN.
    static func clampedOutput(
      _ g: ConvolutionGeometry, x: Tensor, w: Tensor, b: Tensor, bounds: [Float],
      then activation: Activation?
    ) throws -> [Float] {
      var correlation = g
      correlation.transposed = false
      correlation.hasBias = false
      var y = [Float](repeating: .nan, count: g.outputShape.reduce(1, *))
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
      return y
    }

    /// A NaN the sums carry stays NaN through a fused clamp, as through PyTorch's relu and
    /// clamp (a minimum and maximum that skip NaN would give a bound).
    @Test(arguments: cases)
    func clampKeepsNaN(_ c: Case) throws {
      let (g, x, w, b, expected) = try Self.problem(c, nanAt: 0.5)
      #expect(expected.contains { $0.isNaN })
      try forEachKernelConfiguration { configuration in
        let y = try Self.clampedOutput(g, x: x, w: w, b: b, bounds: [0, 6], then: nil)
        let mismatched = zip(y, expected).filter { $0.isNaN != $1.isNaN }.count
        #expect(mismatched == 0, "\(c), \(configuration)")
      }
    }
  }
}
