import Kernels
import Tensors
import TestSupport
import Testing

/// The weight-gradient kernel chosen for each convolution against its definition.
@Suite struct WeightGradientChoiceTests {
  static let cases: [InputGradientTests.Case] = InputGradientTests.cases + [
    .init(input: [2, 6, 9, 8], weight: [4, 3, 3, 3], options: .init(stride: 2, padding: 1, groups: 2)),
    .init(input: [1, 5, 7, 7], weight: [7, 5, 1, 1], options: .init()),
    .init(input: [3, 4, 6, 5], weight: [6, 4, 2, 3], options: .init(padding: [0, 2, 1, 0], dilation: [2, 1])),
  ]

  @Test(arguments: cases)
  func matchesTheDefinition(_ c: InputGradientTests.Case) throws {
    let g = try ConvolutionGeometry(
      inputShape: c.input, weightShape: c.weight, biasShape: nil, options: c.options)
    let kernel = try #require(WeightGradientKernels.make(for: g))
    let x = try Tensor.random(shape: g.xShape, seed: 21)
    let dy = try Tensor.random(shape: g.yShape, seed: 22)
    let (dw, db) = KernelSettingsSuites.WeightGradientKernelTests.gradients(
      kernel, g, dy: dy.scalars, x: x.scalars)
    let expected = Reference.correlateWeightGradient(dy: dy.scalars, x: x.scalars, g)
    expectClose(
      Tensor(validShape: g.weightShape, scalars: dw),
      try Tensor(shape: g.weightShape, scalars: expected), .float32, "\(c)")
    let bias = Reference.biasGradient(dy.scalars, channels: g.yChannels, plane: g.ySize.reduce(1, *))
    expectClose(
      Tensor(validShape: [g.yChannels], scalars: db),
      try Tensor(shape: [g.yChannels], scalars: bias), .float32, "\(c) bias")
  }
}
