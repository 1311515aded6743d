import Foundation
import GroupConv
import Testing

// The rules of the layers' arguments and of sizes, and every case PyTorch refused.
extension ErrorTests {
  // MARK: - Layer arguments

  @Test func layerChannelsAndKernelMustBePositive() {
    expectRule(
      .nonPositiveArgument(operation: "Conv2d", name: "in_channels", values: [0]),
      "Conv2d: in_channels 0 is not supported: in_channels must be positive"
    ) { _ = try Conv2d(inChannels: 0, outChannels: 2, kernelSize: 3) }
    expectRule(
      .nonPositiveArgument(operation: "Conv1d", name: "out_channels", values: [-3]),
      "Conv1d: out_channels -3 is not supported: out_channels must be positive"
    ) { _ = try Conv1d(inChannels: 2, outChannels: -3, kernelSize: 3) }
    expectRule(
      .nonPositiveArgument(operation: "Conv2d", name: "kernel_size", values: [3, 0]),
      "Conv2d: kernel_size [3, 0] is not supported: kernel_size must be positive"
    ) { _ = try Conv2d(inChannels: 2, outChannels: 2, kernelSize: [3, 0]) }
    expectRule(
      .nonPositiveArgument(operation: "Conv1d", name: "kernel_size", values: [0]),
      "Conv1d: kernel_size 0 is not supported: kernel_size must be positive"
    ) { _ = try Conv1d(inChannels: 2, outChannels: 2, kernelSize: 0) }
    expectRule(
      .nonPositiveArgument(operation: "ConvTranspose3d", name: "kernel_size", values: [-1, -1, -1]),
      "ConvTranspose3d: kernel_size [-1, -1, -1] is not supported: kernel_size must be positive"
    ) { _ = try ConvTranspose3d(inChannels: 2, outChannels: 2, kernelSize: -1) }
  }

  @Test func depthwiseSeparableArgumentsMustBePositive() {
    expectRule(
      .nonPositiveArgument(
        operation: "DepthwiseSeparableConv2d", name: "depth_multiplier", values: [0]),
      "DepthwiseSeparableConv2d: depth_multiplier 0 is not supported: depth_multiplier must be "
        + "positive"
    ) {
      _ = try DepthwiseSeparableConv2d(
        inChannels: 2, outChannels: 4, kernelSize: 3, depthMultiplier: 0)
    }
    // The stage that refuses names itself.
    expectRule(
      .nonPositiveArgument(operation: "Conv2d", name: "in_channels", values: [0]),
      "Conv2d: in_channels 0 is not supported: in_channels must be positive"
    ) { _ = try DepthwiseSeparableConv2d(inChannels: 0, outChannels: 4, kernelSize: 3) }
    expectRule(
      .nonPositiveArgument(operation: "Conv2d", name: "out_channels", values: [0]),
      "Conv2d: out_channels 0 is not supported: out_channels must be positive"
    ) { _ = try DepthwiseSeparableConv2d(inChannels: 2, outChannels: 0, kernelSize: 3) }
  }

  // MARK: - Sizes

  @Test func sizesMustNotBeNegative() {
    expectRule(
      .negativeSize(operation: "conv2d", name: "input size", shape: [1, 2, -5, 5]),
      "conv2d: input size [1, 2, -5, 5] is not supported: sizes must not be negative"
    ) { _ = try Convolution(inputShape: [1, 2, -5, 5], weightShape: [2, 2, 3, 3]) }
    expectRule(
      .negativeSize(operation: "conv_transpose1d", name: "weight size", shape: [2, -2, 3]),
      "conv_transpose1d: weight size [2, -2, 3] is not supported: sizes must not be negative"
    ) {
      _ = try Convolution(
        inputShape: [1, 2, 5], weightShape: [2, -2, 3],
        options: ConvolutionOptions(transposed: true))
    }
  }

  @Test func sizesAndArgumentsMustBeBounded() throws {
    let limit = ConvolutionError.maximumExtent
    #expect(limit == 1 << 30)
    let x = tensor([1, 2, 5, 5])
    let w = tensor([2, 2, 3, 3])
    expectRule(
      .argumentTooLarge(operation: "conv2d", name: "dilation", values: [1, limit + 1]),
      "conv2d: dilation [1, 1073741825] is too large: sizes, strides, dilations and paddings "
        + "must be at most 1073741824"
    ) { _ = try conv2d(x, w, dilation: [1, limit + 1]) }
    expectRule(
      .argumentTooLarge(operation: "conv2d", name: "padding", values: [Int.max]),
      "conv2d: padding [9223372036854775807] is too large: sizes, strides, dilations and "
        + "paddings must be at most 1073741824"
    ) { _ = try conv2d(x, w, padding: .explicit([Int.max])) }
    expectRule(
      .argumentTooLarge(operation: "conv_transpose2d", name: "stride", values: [Int.max, 1]),
      "conv_transpose2d: stride [9223372036854775807, 1] is too large: sizes, strides, "
        + "dilations and paddings must be at most 1073741824"
    ) { _ = try convTranspose2d(x, w, stride: [Int.max, 1]) }
    expectRule(
      .argumentTooLarge(
        operation: "conv_transpose2d", name: "output_padding", values: [limit + 1, limit + 1]),
      "conv_transpose2d: output_padding [1073741825, 1073741825] is too large: sizes, strides, "
        + "dilations and paddings must be at most 1073741824"
    ) { _ = try convTranspose2d(x, w, outputPadding: PerDimension([limit + 1])) }
    expectRule(
      .argumentTooLarge(operation: "conv1d", name: "input size", values: [1, 2, limit + 1]),
      "conv1d: input size [1, 2, 1073741825] is too large: sizes, strides, dilations and "
        + "paddings must be at most 1073741824"
    ) { _ = try Convolution(inputShape: [1, 2, limit + 1], weightShape: [2, 2, 3]) }
    // A layer's arguments are bounded the same way, without overflowing on the way.
    let huge = PerDimension([Int.max])
    expectRule(
      .argumentTooLarge(operation: "Conv2d", name: "dilation", values: [Int.max, Int.max]),
      "Conv2d: dilation [9223372036854775807, 9223372036854775807] is too large: sizes, "
        + "strides, dilations and paddings must be at most 1073741824"
    ) { _ = try Conv2d(inChannels: 2, outChannels: 2, kernelSize: 3, dilation: huge) }
    // A large dilation within the limit is accepted by a layer.
    #expect(
      try Conv2d(inChannels: 2, outChannels: 2, kernelSize: 3, dilation: PerDimension([1 << 29]))
        .kernelSize == [3, 3])
    // The largest extent itself is accepted.
    #expect(
      try Convolution(inputShape: [1, 1, 1], weightShape: [1, 1, 1], options: ConvolutionOptions(
        dilation: PerDimension([limit]))).outputShape == [1, 1, 1])
  }

  @Test func tensorsMustHoldAtMostMaximumElementCount() {
    #expect(ConvolutionError.maximumElementCount == 1 << 32)
    expectRule(
      .tooLarge(operation: "conv2d", name: "input", shape: [1 << 20, 1 << 10, 64, 64]),
      "conv2d: input of size [1048576, 1024, 64, 64] is too large: a tensor may hold at most "
        + "4294967296 elements"
    ) { _ = try Convolution(inputShape: [1 << 20, 1 << 10, 64, 64], weightShape: [1, 1024, 1, 1]) }
    expectRule(
      .tooLarge(operation: "conv2d", name: "output", shape: [1, 64, 1 << 15, 1 << 15]),
      "conv2d: output of size [1, 64, 32768, 32768] is too large: a tensor may hold at most "
        + "4294967296 elements"
    ) { _ = try Convolution(inputShape: [1, 1, 1 << 15, 1 << 15], weightShape: [64, 1, 1, 1]) }
    expectRule(
      .tooLarge(operation: "Conv2d", name: "weight", shape: [1 << 16, 1 << 16, 2, 2]),
      "Conv2d: weight of size [65536, 65536, 2, 2] is too large: a tensor may hold at most "
        + "4294967296 elements"
    ) { _ = try Conv2d(inChannels: 1 << 16, outChannels: 1 << 16, kernelSize: 2) }
    // An overflowing depthwise width is refused before anything is allocated.
    let error = #expect(throws: ConvolutionError.self) {
      _ = try DepthwiseSeparableConv2d(
        inChannels: 1 << 40, outChannels: 1, kernelSize: 1, depthMultiplier: 1 << 30)
    }
    #expect(
      error
        == .argumentTooLarge(
          operation: "DepthwiseSeparableConv2d", name: "in_channels × depth_multiplier",
          values: [1 << 40, 1 << 30]))
  }

  // MARK: - PyTorch's refusals

  @Test func manifestListsEveryRefusedCaseWithItsRule() {
    let names = Set(FixtureCase.refusedByPyTorch.map(\.name))
    #expect(names.count >= 29, "refused cases in the manifest: \(names.count)")
    #expect(names == Set(expectedRules.keys), "unlisted: \(names.subtracting(expectedRules.keys))")
  }

  @Test(arguments: FixtureCase.refusedByPyTorch)
  func refusedFixtureBreaksItsRule(_ c: FixtureCase) throws {
    let x = try c.tensor("x")
    let w = try c.tensor("w")
    let b = c.bias ? try c.tensor("b") : nil
    let options = try c.options()
    do {
      let y = try convolution(x, weight: w, bias: b, options: options)
      Issue.record("\(c.name): accepted with output \(y.shape); PyTorch: \(c.error ?? "")")
    } catch {
      if let expected = expectedRules[c.name] {
        #expect(
          error == expected,
          "\(c.name):\n  ours:    \(error)\n  PyTorch: \(c.error ?? "")\n  expected: \(expected)")
      }
    }
  }
}

/// The rule each refused fixture breaks, as this library names it.
private let expectedRules: [String: ConvolutionError] = [
  "conv2d_refused_in_channels_not_divisible_by_groups": .channelsNotDivisibleByGroups(
    operation: "conv2d", role: .input, channels: 3, groups: 2, inputChannels: 3,
    outputChannels: 4),
  "conv2d_refused_out_channels_not_divisible_by_groups": .channelsNotDivisibleByGroups(
    operation: "conv2d", role: .output, channels: 3, groups: 2, inputChannels: 4,
    outputChannels: 3),
  "conv2d_refused_weight_channels_mismatch": .weightChannelsMismatch(
    operation: "conv2d", groups: 1, transposed: false, weightShape: [4, 3, 3, 3],
    inputShape: [1, 4, 5, 5], expectedChannels: 3),
  "conv1d_refused_weight_channels_mismatch_groups2": .weightChannelsMismatch(
    operation: "conv1d", groups: 2, transposed: false, weightShape: [4, 1, 3],
    inputShape: [1, 4, 5], expectedChannels: 2),
  "conv2d_refused_bias_wrong_length": .biasShape(
    operation: "conv2d", biasShape: [3], weightShape: [4, 2, 3, 3], outputChannels: 4, transposed: false),
  "conv2d_refused_groups_zero": .nonPositiveGroups(operation: "conv2d", groups: 0),
  "conv2d_refused_kernel_larger_than_padded_input": .kernelLargerThanInput(
    operation: "conv2d", paddedInputSize: [5, 3], dilatedKernelSize: [3, 4]),
  "conv1d_refused_kernel_larger_than_input": .kernelLargerThanInput(
    operation: "conv1d", paddedInputSize: [3], dilatedKernelSize: [4]),
  "conv3d_refused_kernel_larger_than_input": .kernelLargerThanInput(
    operation: "conv3d", paddedInputSize: [3, 3, 3], dilatedKernelSize: [3, 3, 4]),
  "conv2d_refused_stride_zero": .nonPositiveStride(operation: "conv2d", stride: [1, 0]),
  "conv2d_refused_dilation_zero": .nonPositiveDilation(operation: "conv2d", dilation: [0, 1]),
  "conv1d_refused_dilation_zero": .nonPositiveDilation(operation: "conv1d", dilation: [0]),
  "conv2d_refused_negative_padding": .negativePadding(operation: "conv2d", padding: [-1, 1]),
  "conv2d_refused_same_with_stride2": .sameWithStride(operation: "conv2d", stride: [2, 2]),
  "conv1d_refused_reflect_pad_eq_input": .paddingTooWide(
    operation: "conv1d", mode: .reflect, dimension: 0, begin: 5, end: 5, inputSize: 5),
  "conv2d_refused_reflect_pad_eq_input": .paddingTooWide(
    operation: "conv2d", mode: .reflect, dimension: 0, begin: 4, end: 4, inputSize: 4),
  "conv3d_refused_reflect_pad_eq_input": .paddingTooWide(
    operation: "conv3d", mode: .reflect, dimension: 0, begin: 3, end: 3, inputSize: 3),
  "conv1d_refused_circular_pad_gt_input": .paddingTooWide(
    operation: "conv1d", mode: .circular, dimension: 0, begin: 5, end: 5, inputSize: 4),
  "conv2d_refused_circular_pad_gt_input": .paddingTooWide(
    operation: "conv2d", mode: .circular, dimension: 0, begin: 4, end: 4, inputSize: 3),
  "convt2d_refused_output_padding_too_large": .outputPaddingTooLarge(
    operation: "conv_transpose2d", outputPadding: [2, 2], stride: [2, 2], dilation: [1, 1]),
  "convt1d_refused_output_padding_too_large": .outputPaddingTooLarge(
    operation: "conv_transpose1d", outputPadding: [2], stride: [2], dilation: [2]),
  "convt2d_refused_negative_output_padding": .negativeOutputPadding(
    operation: "conv_transpose2d", outputPadding: [-1, 0]),
  "convt2d_refused_in_channels_not_divisible_by_groups": .channelsNotDivisibleByGroups(
    operation: "conv_transpose2d", role: .input, channels: 3, groups: 2, inputChannels: 3,
    outputChannels: 4),
  "convt2d_refused_weight_channels_mismatch": .weightChannelsMismatch(
    operation: "conv_transpose2d", groups: 1, transposed: true, weightShape: [3, 2, 3, 3],
    inputShape: [1, 4, 4, 4], expectedChannels: 3),
  "convt2d_refused_bias_wrong_length": .biasShape(
    operation: "conv_transpose2d", biasShape: [3], weightShape: [4, 2, 3, 3], outputChannels: 2, transposed: true),
  "convt2d_refused_stride_zero": .nonPositiveStride(operation: "conv_transpose2d", stride: [0, 1]),
  "convt2d_refused_dilation_zero": .nonPositiveDilation(
    operation: "conv_transpose2d", dilation: [1, 0]),
  "convt2d_refused_negative_padding": .negativePadding(
    operation: "conv_transpose2d", padding: [0, -1]),
  "convt2d_refused_output_size_not_positive": .outputSizeTooSmall(
    operation: "conv_transpose2d", inputSize: [2, 2], outputSize: [0, 0]),
]
