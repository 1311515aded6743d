import Foundation
import GroupConv
import Testing

// The rules of output padding and transposed output sizes, padding modes, and the shapes
// given to a planned convolution.
extension ErrorTests {
  // MARK: - Output padding and transposed output size

  @Test func outputPaddingMustBeSmallerThanStrideOrDilation() throws {
    let x = tensor([1, 2, 4, 4])
    let w = tensor([2, 2, 3, 3])
    expectRule(
      .outputPaddingTooLarge(
        operation: "conv_transpose2d", outputPadding: [2, 2], stride: [2, 2], dilation: [1, 1]),
      "conv_transpose2d: output_padding [2, 2] is not supported with stride [2, 2] and dilation "
        + "[1, 1]: output padding must be smaller than either stride or dilation"
    ) { _ = try convTranspose2d(x, w, stride: 2, outputPadding: 2) }
    let x1 = tensor([1, 2, 4])
    let w1 = tensor([2, 2, 3])
    expectRule(
      .outputPaddingTooLarge(
        operation: "conv_transpose1d", outputPadding: [2], stride: [2], dilation: [2]),
      "conv_transpose1d: output_padding [2] is not supported with stride [2] and dilation [2]: "
        + "output padding must be smaller than either stride or dilation"
    ) { _ = try convTranspose1d(x1, w1, stride: 2, outputPadding: 2, dilation: 2) }
    expectRule(
      .outputPaddingTooLarge(
        operation: "ConvTranspose2d", outputPadding: [1, 1], stride: [1, 1], dilation: [1, 1]),
      "ConvTranspose2d: output_padding [1, 1] is not supported with stride [1, 1] and dilation "
        + "[1, 1]: output padding must be smaller than either stride or dilation"
    ) { _ = try ConvTranspose2d(inChannels: 2, outChannels: 2, kernelSize: 3, outputPadding: 1) }
    // Smaller than the dilation is enough, as in PyTorch.
    #expect(
      try convTranspose2d(x, w, stride: 1, outputPadding: 1, dilation: 2).shape == [1, 2, 9, 9])
  }

  @Test func outputPaddingMustNotBeNegative() throws {
    let x = tensor([1, 2, 4, 4])
    let w = tensor([2, 2, 3, 3])
    expectRule(
      .negativeOutputPadding(operation: "conv_transpose2d", outputPadding: [-1, 0]),
      "conv_transpose2d: output_padding [-1, 0] is not supported: negative output_padding is "
        + "not supported"
    ) { _ = try convTranspose2d(x, w, stride: 2, outputPadding: [-1, 0]) }
  }

  @Test func outputPaddingNeedsTransposed() {
    expectRule(
      .outputPaddingWithoutTransposed(operation: "conv2d", outputPadding: [1, 1]),
      "conv2d: output_padding [1, 1] is only supported for transposed convolutions"
    ) {
      _ = try Convolution(
        inputShape: [1, 2, 5, 5], weightShape: [2, 2, 3, 3],
        options: ConvolutionOptions(stride: 2, outputPadding: 1))
    }
  }

  @Test func transposedOutputMustNotBeEmpty() throws {
    let x = tensor([1, 2, 2, 2])
    let w = tensor([2, 2, 3, 3])
    expectRule(
      .outputSizeTooSmall(operation: "conv_transpose2d", inputSize: [2, 2], outputSize: [0, 0]),
      "conv_transpose2d: given input size per channel: (2 x 2). Calculated output size per "
        + "channel: (0 x 0). Output size is too small"
    ) { _ = try convTranspose2d(x, w, padding: 2) }
    expectRule(
      .outputSizeTooSmall(operation: "conv_transpose2d", inputSize: [2, 2], outputSize: [2, -2]),
      "conv_transpose2d: given input size per channel: (2 x 2). Calculated output size per "
        + "channel: (2 x -2). Output size is too small"
    ) { _ = try convTranspose2d(x, w, padding: [1, 3]) }
    #expect(try convTranspose2d(x, w, padding: 1).shape == [1, 2, 2, 2])
  }

  // MARK: - Padding modes

  @Test func paddingModeMustBeOneOfPyTorchs() throws {
    let names = "'zeros', 'reflect', 'replicate', 'circular'"
    for name in ["mirror", "Zeros", "constant", ""] {
      expectRule(
        .unknownPaddingMode(name),
        "unknown padding_mode '\(name)': padding_mode must be one of \(names)"
      ) { _ = try PaddingMode(named: name) }
    }
    for mode in PaddingMode.allCases {
      #expect(try PaddingMode(named: mode.rawValue) == mode)
    }
  }

  @Test func reflectPaddingMustBeNarrowerThanInput() throws {
    let w1 = tensor([2, 2, 3])
    expectRule(
      .paddingTooWide(
        operation: "conv1d", mode: .reflect, dimension: 0, begin: 5, end: 5, inputSize: 5),
      "conv1d: reflect padding (5, 5) on spatial dimension 0 of size 5 is too wide: padding "
        + "size should be less than the corresponding input dimension"
    ) { _ = try conv1d(tensor([1, 2, 5]), w1, padding: 5, paddingMode: .reflect) }
    // size - 1 is the widest reflection.
    #expect(
      try conv1d(tensor([1, 2, 5]), w1, padding: 4, paddingMode: .reflect).shape
        == [1, 2, 11])

    let w = tensor([2, 2, 3, 3])
    expectRule(
      .paddingTooWide(
        operation: "conv2d", mode: .reflect, dimension: 1, begin: 3, end: 3, inputSize: 3),
      "conv2d: reflect padding (3, 3) on spatial dimension 1 of size 3 is too wide: padding "
        + "size should be less than the corresponding input dimension"
    ) { _ = try conv2d(tensor([1, 2, 5, 3]), w, padding: [1, 3], paddingMode: .reflect) }
    // One side too wide is enough: begins (0, 0), ends (0, 4).
    expectRule(
      .paddingTooWide(
        operation: "conv2d", mode: .reflect, dimension: 1, begin: 0, end: 4, inputSize: 4),
      "conv2d: reflect padding (0, 4) on spatial dimension 1 of size 4 is too wide: padding "
        + "size should be less than the corresponding input dimension"
    ) {
      _ = try conv2d(tensor([1, 2, 5, 4]), w, padding: [0, 0, 0, 4], paddingMode: .reflect)
    }
    // 'same' padding is reflected too: a 7-tap kernel pads 3 on each side.
    expectRule(
      .paddingTooWide(
        operation: "conv1d", mode: .reflect, dimension: 0, begin: 3, end: 3, inputSize: 3),
      "conv1d: reflect padding (3, 3) on spatial dimension 0 of size 3 is too wide: padding "
        + "size should be less than the corresponding input dimension"
    ) {
      _ = try conv1d(
        tensor([1, 2, 3]), tensor([2, 2, 7]), padding: .same, paddingMode: .reflect)
    }
    let layer = try Conv2d(
      inChannels: 2, outChannels: 2, kernelSize: 3, padding: 4, paddingMode: .reflect, seed: 1)
    expectRule(
      .paddingTooWide(
        operation: "Conv2d", mode: .reflect, dimension: 0, begin: 4, end: 4, inputSize: 4),
      "Conv2d: reflect padding (4, 4) on spatial dimension 0 of size 4 is too wide: padding "
        + "size should be less than the corresponding input dimension"
    ) { _ = try layer(tensor([1, 2, 4, 5])) }
    #expect(try layer(tensor([1, 2, 5, 5])).shape == [1, 2, 11, 11])
  }

  @Test func circularPaddingMustNotWrapMoreThanOnce() throws {
    let w1 = tensor([2, 2, 3])
    expectRule(
      .paddingTooWide(
        operation: "conv1d", mode: .circular, dimension: 0, begin: 5, end: 5, inputSize: 4),
      "conv1d: circular padding (5, 5) on spatial dimension 0 of size 4 is too wide: padding "
        + "value causes wrapping around more than once"
    ) { _ = try conv1d(tensor([1, 2, 4]), w1, padding: 5, paddingMode: .circular) }
    // Padding as wide as the input wraps exactly once.
    #expect(
      try conv1d(tensor([1, 2, 4]), w1, padding: 4, paddingMode: .circular).shape
        == [1, 2, 10])
    let layer = try Conv2d(
      inChannels: 2, outChannels: 2, kernelSize: 3, padding: [4, 5], paddingMode: .circular,
      seed: 1)
    expectRule(
      .paddingTooWide(
        operation: "Conv2d", mode: .circular, dimension: 0, begin: 4, end: 4, inputSize: 3),
      "Conv2d: circular padding (4, 4) on spatial dimension 0 of size 3 is too wide: padding "
        + "value causes wrapping around more than once"
    ) { _ = try layer(tensor([1, 2, 3, 4])) }
  }

  @Test func replicatePaddingNeedsANonEmptyInput() throws {
    let w1 = tensor([2, 2, 3])
    // Any width is fine when there is an edge to repeat.
    #expect(
      try conv1d(tensor([1, 2, 3]), w1, padding: 5, paddingMode: .replicate).shape
        == [1, 2, 11])
    // An empty input has no edge: refused as empty, before the padding is looked at.
    #expect(throws: ConvolutionError.emptySpatialInput(operation: "conv1d", shape: [1, 2, 0])) {
      _ = try conv1d(tensor([1, 2, 0]), w1, padding: 2, paddingMode: .replicate)
    }
  }

  @Test func transposedTakesZerosPaddingModeOnly() {
    for mode in [PaddingMode.reflect, .replicate, .circular] {
      expectRule(
        .paddingModeForTransposed(operation: "conv_transpose2d", mode: mode),
        "conv_transpose2d: padding_mode '\(mode.rawValue)' is not supported: only 'zeros' "
          + "padding mode is supported for transposed convolutions"
      ) {
        _ = try Convolution(
          inputShape: [1, 2, 4, 4], weightShape: [2, 2, 3, 3],
          options: ConvolutionOptions(padding: 1, paddingMode: mode, transposed: true))
      }
    }
  }

  // MARK: - Shapes given to a planned convolution

  @Test func forwardRefusesTensorsOfOtherShapes() throws {
    let conv = try Convolution(
      inputShape: [1, 2, 5, 5], weightShape: [3, 2, 3, 3], biasShape: [3])
    let x = tensor([1, 2, 5, 5])
    let w = tensor([3, 2, 3, 3])
    let b = tensor([3])
    #expect(try conv.forward(x, weight: w, bias: b).shape == [1, 3, 3, 3])
    let bigger = tensor([1, 2, 6, 6])
    expectRule(
      .shapeMismatch(
        operation: "conv2d", name: "input", shape: [1, 2, 6, 6], expected: [1, 2, 5, 5]),
      "conv2d: input of size [1, 2, 6, 6] does not match the expected size [1, 2, 5, 5]"
    ) { _ = try conv.forward(bigger, weight: w, bias: b) }
    let narrow = tensor([3, 2, 3, 2])
    expectRule(
      .shapeMismatch(
        operation: "conv2d", name: "weight", shape: [3, 2, 3, 2], expected: [3, 2, 3, 3]),
      "conv2d: weight of size [3, 2, 3, 2] does not match the expected size [3, 2, 3, 3]"
    ) { _ = try conv.forward(x, weight: narrow, bias: b) }
    let long = tensor([4])
    expectRule(
      .shapeMismatch(operation: "conv2d", name: "bias", shape: [4], expected: [3]),
      "conv2d: bias of size [4] does not match the expected size [3]"
    ) { _ = try conv.forward(x, weight: w, bias: long) }
    // A bias left out, or given to a convolution planned without one.
    expectRule(
      .biasPresence(operation: "conv2d", given: nil, expected: [3]),
      "conv2d: no bias was given, but this convolution was made with a bias of size [3]"
    ) { _ = try conv.forward(x, weight: w) }
    let unbiased = try Convolution(inputShape: [1, 2, 5, 5], weightShape: [3, 2, 3, 3])
    expectRule(
      .biasPresence(operation: "conv2d", given: [3], expected: nil),
      "conv2d: a bias of size [3] was given, but this convolution was made without a bias"
    ) { _ = try unbiased.forward(x, weight: w, bias: b) }
  }

  @Test func backwardRefusesGradOutputOfOtherShape() throws {
    let conv = try Convolution(inputShape: [1, 2, 5, 5], weightShape: [3, 2, 3, 3])
    let x = tensor([1, 2, 5, 5])
    let w = tensor([3, 2, 3, 3])
    let dy = tensor([1, 3, 4, 4])
    expectRule(
      .shapeMismatch(
        operation: "conv2d", name: "grad_output", shape: [1, 3, 4, 4], expected: [1, 3, 3, 3]),
      "conv2d: grad_output of size [1, 3, 4, 4] does not match the expected size [1, 3, 3, 3]"
    ) { _ = try conv.backward(gradOutput: dy, input: x, weight: w) }
    let good = tensor([1, 3, 3, 3])
    let wrongInput = tensor([1, 2, 5, 6])
    expectRule(
      .shapeMismatch(
        operation: "conv2d", name: "input", shape: [1, 2, 5, 6], expected: [1, 2, 5, 5]),
      "conv2d: input of size [1, 2, 5, 6] does not match the expected size [1, 2, 5, 5]"
    ) { _ = try conv.backward(gradOutput: good, input: wrongInput, weight: w) }
    expectRule(
      .shapeMismatch(
        operation: "conv2d", name: "grad_output", shape: [1, 3, 4, 4], expected: [1, 3, 3, 3]),
      "conv2d: grad_output of size [1, 3, 4, 4] does not match the expected size [1, 3, 3, 3]"
    ) { _ = try convolutionBackward(gradOutput: dy, input: x, weight: w) }

    // Transposed: the output is the larger side.
    let transposed = try Convolution(
      inputShape: [1, 2, 3, 3], weightShape: [2, 4, 3, 3],
      options: ConvolutionOptions(stride: 2, transposed: true))
    #expect(transposed.outputShape == [1, 4, 7, 7])
    let small = tensor([1, 4, 3, 3])
    expectRule(
      .shapeMismatch(
        operation: "conv_transpose2d", name: "grad_output", shape: [1, 4, 3, 3],
        expected: [1, 4, 7, 7]),
      "conv_transpose2d: grad_output of size [1, 4, 3, 3] does not match the expected size "
        + "[1, 4, 7, 7]"
    ) {
      _ = try transposed.backward(
        gradOutput: small, input: tensor([1, 2, 3, 3]), weight: tensor([2, 4, 3, 3]))
    }
  }

  @Test func layerBackwardRefusesGradOutputOfOtherShape() throws {
    let layer = try Conv2d(inChannels: 2, outChannels: 3, kernelSize: 3, seed: 1)
    let x = tensor([1, 2, 5, 5])
    let dy = tensor([1, 3, 4, 4])
    let error = #expect(throws: ConvolutionError.self) { _ = try layer.backward(dy, input: x) }
    #expect(
      error?.description.hasSuffix(
        ": grad_output of size [1, 3, 4, 4] does not match the expected size [1, 3, 3, 3]")
        == true)
    #expect(layer.weightGrad == nil)
    #expect(
      error
        == .shapeMismatch(
          operation: "Conv2d", name: "grad_output", shape: [1, 3, 4, 4], expected: [1, 3, 3, 3]))

    let block = try DepthwiseSeparableConv2d(
      inChannels: 2, outChannels: 4, kernelSize: 3, padding: 1, seed: 1)
    let wrong = tensor([1, 3, 5, 5])
    let blockError = #expect(throws: ConvolutionError.self) {
      _ = try block.backward(wrong, input: x)
    }
    #expect(
      blockError?.description.hasSuffix(
        ": grad_output of size [1, 3, 5, 5] does not match the expected size [1, 4, 5, 5]")
        == true)
  }

  /// `Convolution(..., operation:)` names the operation in its messages; the shape checks of
  /// `forward` and `backward` should use that name too.
  @Test func plannedConvolutionKeepsItsOperationName() throws {
    let conv = try Convolution(
      inputShape: [1, 2, 5, 5], weightShape: [3, 2, 3, 3], operation: "Conv2d")
    let x = tensor([1, 2, 6, 6])
    let w = tensor([3, 2, 3, 3])
    do {
      #expect(
        throws: ConvolutionError.shapeMismatch(
          operation: "Conv2d", name: "input", shape: [1, 2, 6, 6], expected: [1, 2, 5, 5])
      ) { _ = try conv.forward(x, weight: w) }
    }
  }
}
