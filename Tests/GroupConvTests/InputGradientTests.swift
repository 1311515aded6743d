import Kernels
import Tensors
import TestSupport
import Testing

/// The input gradient computed as a forward convolution (flipped kernel, swapped channels,
/// zero-inserted output gradient) against its definition, with the reference loops as the
/// forward kernel so that only the transformation is under test.
@Suite struct InputGradientTests {
  struct Case: Sendable, CustomTestStringConvertible {
    var input: [Int]
    var weight: [Int]
    var options: ConvolutionOptions
    var testDescription: String { "x \(input) w \(weight) \(options)" }
  }

  static let cases: [Case] = [
    Case(input: [1, 2, 7], weight: [3, 2, 3], options: .init()),
    Case(input: [2, 4, 9], weight: [6, 2, 3], options: .init(stride: 2, padding: 1, groups: 2)),
    Case(input: [1, 3, 10], weight: [3, 1, 4], options: .init(stride: 3, groups: 3)),
    Case(input: [1, 2, 8], weight: [2, 2, 3], options: .init(padding: [0, 3], dilation: 2)),
    Case(input: [1, 2, 5], weight: [2, 2, 2], options: .init(padding: 4)),  // wider than the kernel
    Case(input: [1, 4, 6, 5], weight: [8, 1, 3, 3], options: .init(padding: 1, groups: 4)),
    Case(input: [2, 3, 7, 6], weight: [6, 1, 3, 2], options: .init(stride: [2, 3], groups: 3)),
    Case(input: [1, 2, 9, 9], weight: [4, 2, 3, 3], options: .init(padding: .same, dilation: 2)),
    Case(input: [1, 6, 5, 7], weight: [4, 3, 2, 4], options: .init(padding: [1, 0, 2, 3], groups: 2)),
    Case(input: [1, 2, 4, 5, 6], weight: [4, 1, 2, 3, 3], options: .init(stride: [1, 2, 2], padding: 1, groups: 2)),
  ]

  @Test(arguments: cases)
  func matchesTheDefinition(_ c: Case) throws {
    let geometry = try ConvolutionGeometry(
      inputShape: c.input, weightShape: c.weight, biasShape: nil, options: c.options)
    let w = try Tensor.random(shape: c.weight, seed: 11)
    let kernel = try #require(
      w.withUnsafeBufferPointer { w in
        InputGradientKernel(geometry, weight: w) { ReferenceForwardKernel($0, weight: $1) }
      })
    // Twice with different dy: the second call reuses the first call's spread buffer.
    for seed in [12, 13] as [UInt64] {
      let dy = try Tensor.random(shape: geometry.yShape, seed: seed)
      var dx = try Tensor(shape: geometry.xShape)
      dy.withUnsafeBufferPointer { dy in
        dx.withUnsafeMutableBufferPointer { dx in
          kernel.run(dy: dy.baseAddress!, bias: nil, dx: dx.baseAddress!)
        }
      }
      let expected = Reference.correlateInputGradient(dy: dy.scalars, w: w.scalars, geometry)
      expectClose(
        dx, try Tensor(shape: geometry.xShape, scalars: expected), .float32, "\(c), dy seed \(seed)")
    }
  }
}
