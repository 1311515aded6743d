import GroupConv
import TestSupport
import Testing

/// One small convolution whose gradients are checked against finite differences.
struct GradientCase: CustomStringConvertible, CustomTestStringConvertible, Sendable {
  let name: String
  /// `[N, C_in, size...]`.
  let inputShape: [Int]
  /// `[C_out, C_in / groups, k...]`; transposed: `[C_in, C_out / groups, k...]`.
  let weightShape: [Int]
  let bias: Bool
  let options: ConvolutionOptions
  let seed: UInt64

  var description: String { "\(name), x \(inputShape), w \(weightShape) (seed \(seed))" }
  var testDescription: String { description }

  init(
    _ name: String, x inputShape: [Int], w weightShape: [Int], bias: Bool = true,
    _ options: ConvolutionOptions, seed: UInt64
  ) {
    self.name = name
    self.inputShape = inputShape
    self.weightShape = weightShape
    self.bias = bias
    self.options = options
    self.seed = seed
  }

  var biasShape: [Int]? {
    guard bias else { return nil }
    return [options.transposed ? weightShape[1] * options.groups : weightShape[0]]
  }

  /// x, w, b and dy drawn uniformly from [-1, 1], each from its own seed.
  func tensors(outputShape: [Int]) throws -> (x: Tensor, w: Tensor, b: Tensor?, dy: Tensor) {
    let x = try Tensor.random(shape: inputShape, seed: seed)
    let w = try Tensor.random(shape: weightShape, seed: seed &+ 1)
    let b = try biasShape.map { shape throws(TensorError) in
      try Tensor.random(shape: shape, seed: seed &+ 2)
    }
    let dy = try Tensor.random(shape: outputShape, seed: seed &+ 3)
    return (x, w, b, dy)
  }

  // Every shape is tiny: each gradient element costs two Double forward passes.
  static let all: [GradientCase] = [
    // 1-D.
    GradientCase(
      "conv1d, padding 1, batch 2", x: [2, 3, 6], w: [4, 3, 3], ConvolutionOptions(padding: 1),
      seed: 101),
    GradientCase(
      "conv1d, groups 2, stride 2, unused tail", x: [1, 4, 8], w: [4, 2, 3],
      ConvolutionOptions(stride: 2, groups: 2), seed: 102),
    GradientCase(
      "conv1d, depthwise multiplier 2, dilation 2, asymmetric padding (1, 2)", x: [1, 3, 7],
      w: [6, 1, 3], ConvolutionOptions(padding: [1, 2], dilation: 2, groups: 3), seed: 103),
    GradientCase(
      "conv1d, 'same', even kernel 4, no bias", x: [1, 2, 6], w: [2, 2, 4], bias: false,
      ConvolutionOptions(padding: .same), seed: 104),
    GradientCase(
      "conv1d, reflect, padding 4 on size 5 (max)", x: [1, 2, 5], w: [3, 2, 3],
      ConvolutionOptions(padding: 4, paddingMode: .reflect), seed: 105),
    GradientCase(
      "conv1d, circular, padding 5 on size 5 (max), groups 2", x: [1, 2, 5], w: [2, 1, 3],
      ConvolutionOptions(padding: 5, groups: 2, paddingMode: .circular), seed: 106),
    GradientCase(
      "conv1d, replicate, padding 6 on size 4", x: [1, 2, 4], w: [2, 2, 3],
      ConvolutionOptions(padding: 6, paddingMode: .replicate), seed: 107),
    // 2-D.
    GradientCase(
      "conv2d, groups 2, stride (2, 1), asymmetric padding, unused tail", x: [1, 4, 6, 5],
      w: [4, 2, 3, 2], ConvolutionOptions(stride: [2, 1], padding: [0, 1, 2, 0], groups: 2),
      seed: 201),
    GradientCase(
      "conv2d, depthwise, dilation (2, 1), padding 2, batch 2", x: [2, 3, 5, 4],
      w: [3, 1, 3, 3], ConvolutionOptions(padding: 2, dilation: [2, 1], groups: 3), seed: 202),
    GradientCase(
      "conv2d, depthwise multiplier 3, stride 2", x: [1, 2, 5, 5], w: [6, 1, 2, 3],
      ConvolutionOptions(stride: 2, padding: 1, groups: 2), seed: 203),
    GradientCase(
      "conv2d, reflect, asymmetric padding (3, 0 | 1, 4) at max, groups 2", x: [1, 2, 4, 5],
      w: [4, 1, 3, 3],
      ConvolutionOptions(padding: [3, 0, 1, 4], groups: 2, paddingMode: .reflect), seed: 204),
    GradientCase(
      "conv2d, circular, 'same', even kernel 2, dilation 3", x: [1, 2, 4, 4], w: [2, 2, 2, 2],
      ConvolutionOptions(padding: .same, dilation: 3, paddingMode: .circular), seed: 205),
    GradientCase(
      "conv2d, circular, padding (3, 4) at max, stride 2", x: [1, 1, 3, 4], w: [2, 1, 2, 2],
      ConvolutionOptions(stride: 2, padding: [3, 4], paddingMode: .circular), seed: 206),
    GradientCase(
      "conv2d, replicate, 'same', kernel 2x3", x: [1, 2, 3, 4], w: [3, 2, 2, 3],
      ConvolutionOptions(padding: .same, paddingMode: .replicate), seed: 207),
    GradientCase(
      "conv2d, 'valid', no bias", x: [1, 2, 4, 4], w: [3, 2, 3, 3], bias: false,
      ConvolutionOptions(padding: .valid), seed: 208),
    // 3-D.
    GradientCase(
      "conv3d, groups 2, stride (1, 2, 1), padding 1", x: [1, 4, 3, 4, 3], w: [2, 2, 2, 2, 2],
      ConvolutionOptions(stride: [1, 2, 1], padding: 1, groups: 2), seed: 301),
    GradientCase(
      "conv3d, depthwise multiplier 2, reflect, padding 2 on size 3 (max)", x: [1, 2, 3, 3, 3],
      w: [4, 1, 2, 2, 2], ConvolutionOptions(padding: 2, groups: 2, paddingMode: .reflect),
      seed: 302),
    GradientCase(
      "conv3d, circular, padding (2, 3, 3) at max", x: [1, 1, 2, 3, 3], w: [2, 1, 2, 2, 2],
      ConvolutionOptions(padding: [2, 3, 3], paddingMode: .circular), seed: 303),
    GradientCase(
      "conv3d, replicate, 'same', even kernel, dilation (1, 2, 1)", x: [1, 2, 2, 3, 3],
      w: [2, 2, 2, 2, 1],
      ConvolutionOptions(padding: .same, dilation: [1, 2, 1], paddingMode: .replicate), seed: 304),
    // Transposed.
    GradientCase(
      "conv_transpose1d, groups 2, stride 3, padding 1, output padding 2", x: [1, 4, 4],
      w: [4, 1, 3],
      ConvolutionOptions(stride: 3, padding: 1, groups: 2, transposed: true, outputPadding: 2),
      seed: 401),
    GradientCase(
      "conv_transpose1d, stride 2, dilation 2, asymmetric padding (2, 0), output padding 1",
      x: [2, 2, 4], w: [2, 3, 3],
      ConvolutionOptions(
        stride: 2, padding: [2, 0], dilation: 2, transposed: true, outputPadding: 1),
      seed: 402),
    GradientCase(
      "conv_transpose2d, groups 2, stride 2, asymmetric padding, output padding 1",
      x: [1, 4, 3, 3], w: [4, 3, 3, 2],
      ConvolutionOptions(
        stride: 2, padding: [1, 0, 0, 1], groups: 2, transposed: true, outputPadding: 1),
      seed: 403),
    GradientCase(
      "conv_transpose2d, depthwise multiplier 2, dilation (2, 1), output padding (1, 0)",
      x: [1, 3, 3, 4], w: [3, 2, 3, 3],
      ConvolutionOptions(
        stride: [1, 2], padding: 1, dilation: [2, 1], groups: 3, transposed: true,
        outputPadding: [1, 0]),
      seed: 404),
    GradientCase(
      "conv_transpose3d, groups 2, stride 2, asymmetric padding, output padding 1, no bias",
      x: [1, 2, 2, 2, 3], w: [2, 2, 2, 2, 2], bias: false,
      ConvolutionOptions(
        stride: 2, padding: [0, 1, 0, 1, 0, 1], groups: 2, transposed: true, outputPadding: 1),
      seed: 405),
  ]
}

@Suite struct GradientTests {
  /// What a float32 gradient may differ from the exact one by.
  static let gradientTolerance = Tolerance(absolute: 1e-4, relative: 1e-3)

  @Test(arguments: GradientCase.all)
  func plainDoubleForwardMatchesLibrary(_ c: GradientCase) throws {
    let conv = try Convolution(
      inputShape: c.inputShape, weightShape: c.weightShape, biasShape: c.biasShape,
      options: c.options)
    let plain = DoubleConvolution(
      inputShape: c.inputShape, weightShape: c.weightShape, options: c.options)
    #expect(plain.outputShape == conv.outputShape, "\(c)")
    let (x, w, b, _) = try c.tensors(outputShape: conv.outputShape)
    let expected = plain.forward(x: doubles(x), w: doubles(w), b: b.map(doubles))
    expectClose(
      try conv.forward(x, weight: w, bias: b), try floats(conv.outputShape, expected), .float32,
      "\(c): forward")
  }

  @Test(arguments: GradientCase.all)
  func backwardMatchesFiniteDifferences(_ c: GradientCase) throws {
    let conv = try Convolution(
      inputShape: c.inputShape, weightShape: c.weightShape, biasShape: c.biasShape,
      options: c.options)
    let plain = DoubleConvolution(
      inputShape: c.inputShape, weightShape: c.weightShape, options: c.options)
    let (x, w, b, dy) = try c.tensors(outputShape: conv.outputShape)
    let (xs, ws, bs, dys) = (doubles(x), doubles(w), b.map(doubles), doubles(dy))
    // loss = sum(y * dy), so that its gradient with respect to y is dy.
    func loss(_ y: [Double]) -> Double { zip(y, dys).reduce(0) { $0 + $1.0 * $1.1 } }

    let gradients = try conv.backward(gradOutput: dy, input: x, weight: w)
    let dx = centralDifferences(of: xs) { loss(plain.forward(x: $0, w: ws, b: bs)) }
    let dw = centralDifferences(of: ws) { loss(plain.forward(x: xs, w: $0, b: bs)) }
    expectClose(
      gradients.input, try floats(x.shape, dx), Self.gradientTolerance, "\(c): input gradient")
    expectClose(
      gradients.weight, try floats(w.shape, dw), Self.gradientTolerance, "\(c): weight gradient")
    if let bs {
      let db = centralDifferences(of: bs) { loss(plain.forward(x: xs, w: ws, b: $0)) }
      if let biasGradient = gradients.bias {
        expectClose(
          biasGradient, try floats([bs.count], db), Self.gradientTolerance, "\(c): bias gradient")
      } else {
        Issue.record("\(c): no bias gradient")
      }
    } else {
      #expect(gradients.bias == nil, "\(c): a bias gradient without a bias")
    }

    // The functional form gives the same three gradients (to rounding: suites running
    // alongside may change the thread count or the instruction set between the two calls,
    // and with them the order in which partial sums are added and whether multiply-adds are
    // fused; a weight gradient of 0.0475, a sum of products around 1, came out 1.9e-6 apart).
    let functional = try convolutionBackward(
      gradOutput: dy, input: x, weight: w, includeBias: c.bias, options: c.options)
    let rounding = Tolerance(absolute: 1e-5, relative: 1e-5)
    expectClose(functional.input, gradients.input, rounding, "\(c): functional input gradient")
    expectClose(functional.weight, gradients.weight, rounding, "\(c): functional weight gradient")
    #expect((functional.bias == nil) == (gradients.bias == nil), "\(c): functional bias gradient")
    if let a = functional.bias, let b = gradients.bias {
      expectClose(a, b, rounding, "\(c): functional bias gradient")
    }
  }
}

private func doubles(_ t: Tensor) -> [Double] { t.scalars.map(Double.init) }

private func floats(_ shape: [Int], _ values: [Double]) throws -> Tensor {
  try Tensor(shape: shape, scalars: values.map { Float($0) })
}
