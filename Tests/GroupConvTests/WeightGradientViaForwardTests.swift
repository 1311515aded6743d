import Kernels
import Tensors
import TestSupport
import Testing

/// The weight gradient computed as a forward convolution per group against its definition.
@Suite struct WeightGradientViaForwardTests {
  static let cases: [InputGradientTests.Case] = InputGradientTests.cases + [
    .init(input: [2, 6, 9, 8], weight: [4, 3, 3, 3], options: .init(stride: 2, padding: 1, groups: 2)),
    .init(input: [1, 5, 7, 7], weight: [7, 5, 1, 1], options: .init()),
    .init(input: [3, 4, 6, 5], weight: [6, 4, 2, 3], options: .init(padding: [0, 2, 1, 0], dilation: [2, 1])),
  ]

  @Test(arguments: cases)
  func matchesTheDefinition(_ c: InputGradientTests.Case) throws {
    let g = try ConvolutionGeometry(
      inputShape: c.input, weightShape: c.weight, biasShape: nil, options: c.options)
    let kernel = try #require(WeightGradientViaForward(g))
    let x = try Tensor.random(shape: g.xShape, seed: 21)
    let dy = try Tensor.random(shape: g.yShape, seed: 22)
    var dw = try Tensor(shape: g.weightShape, repeating: .nan)
    var db = try Tensor(shape: [g.yChannels], repeating: .nan)
    dy.withUnsafeBufferPointer { dy in
      x.withUnsafeBufferPointer { x in
        dw.withUnsafeMutableBufferPointer { dw in
          db.withUnsafeMutableBufferPointer { db in
            kernel.weightGradient(
              dy: dy.baseAddress!, x: x.baseAddress!, dw: dw.baseAddress!,
              biasGradient: db.baseAddress!)
          }
        }
      }
    }
    let expected = Reference.correlateWeightGradient(dy: dy.scalars, x: x.scalars, g)
    expectClose(dw, try Tensor(shape: g.weightShape, scalars: expected), .float32, "\(c)")
    let bias = Reference.biasGradient(dy.scalars, channels: g.yChannels, plane: g.ySize.reduce(1, *))
    expectClose(db, try Tensor(shape: [g.yChannels], scalars: bias), .float32, "\(c) bias")
  }
}
