import Foundation
import GroupConv
import Testing

// The rules of input rank and size, stride, dilation and padding, and their counts.
extension ErrorTests {
  // MARK: - Input rank and size

  @Test func functionalFormsTakeOneInputRank() throws {
    let w2 = tensor([3, 2, 3, 3])
    expectRule(
      .inputRank(operation: "conv2d", shape: [2, 5, 5], expectedRank: 4),
      "conv2d: expected a 4-D input [N, C, H, W], but got input of size [2, 5, 5]"
    ) { _ = try conv2d(tensor([2, 5, 5]), w2) }
    expectRule(
      .inputRank(operation: "conv1d", shape: [1, 2, 5, 5], expectedRank: 3),
      "conv1d: expected a 3-D input [N, C, W], but got input of size [1, 2, 5, 5]"
    ) { _ = try conv1d(tensor([1, 2, 5, 5]), w2) }
    expectRule(
      .inputRank(operation: "conv3d", shape: [1, 2, 5, 5], expectedRank: 5),
      "conv3d: expected a 5-D input [N, C, D, H, W], but got input of size [1, 2, 5, 5]"
    ) { _ = try conv3d(tensor([1, 2, 5, 5]), w2) }
    expectRule(
      .inputRank(operation: "conv_transpose2d", shape: [1, 2, 3, 5, 5], expectedRank: 4),
      "conv_transpose2d: expected a 4-D input [N, C, H, W], but got input of size "
        + "[1, 2, 3, 5, 5]"
    ) { _ = try convTranspose2d(tensor([1, 2, 3, 5, 5]), w2) }
  }

  @Test func convolutionTakesBatchedInputOfRankThreeToFive() throws {
    let w = tensor([2, 2, 3])
    expectRule(
      .inputRank(operation: "conv1d", shape: [2, 5], expectedRank: nil),
      "conv1d: expected a batched input of rank 3, 4 or 5 ([N, C, W], [N, C, H, W] or "
        + "[N, C, D, H, W]), but got input of size [2, 5]"
    ) { _ = try convolution(tensor([2, 5]), weight: w) }
    expectRule(
      .inputRank(operation: "conv_transpose3d", shape: [1, 2, 2, 2, 2, 2], expectedRank: nil),
      "conv_transpose3d: expected a batched input of rank 3, 4 or 5 ([N, C, W], [N, C, H, W] "
        + "or [N, C, D, H, W]), but got input of size [1, 2, 2, 2, 2, 2]"
    ) {
      _ = try Convolution(
        inputShape: [1, 2, 2, 2, 2, 2], weightShape: [2, 2, 1, 1, 1, 1],
        options: ConvolutionOptions(transposed: true))
    }
  }

  /// A layer is batched only: an unbatched `[C, H, W]` input is refused for its rank.
  @Test func layerRefusesUnbatchedInputForItsRank() throws {
    let layer = try Conv2d(inChannels: 2, outChannels: 3, kernelSize: 3, seed: 1)
    expectRule(
      .inputRank(operation: "Conv2d", shape: [2, 5, 5], expectedRank: 4),
      "Conv2d: expected a 4-D input [N, C, H, W], but got input of size [2, 5, 5]"
    ) { _ = try layer(tensor([2, 5, 5])) }
  }

  @Test func kernelMustFitPaddedInput() throws {
    let x = tensor([1, 2, 3, 3])
    let w = tensor([2, 2, 3, 4])
    expectRule(
      .kernelLargerThanInput(
        operation: "conv2d", paddedInputSize: [5, 3], dilatedKernelSize: [3, 4]),
      "conv2d: calculated padded input size per channel: (5 x 3). Kernel size: (3 x 4). Kernel "
        + "size can't be greater than actual input size"
    ) { _ = try conv2d(x, w, padding: [1, 0]) }
    // The kernel is measured dilated, as PyTorch does.
    let x1 = tensor([1, 2, 4])
    let w1 = tensor([2, 2, 3])
    expectRule(
      .kernelLargerThanInput(operation: "conv1d", paddedInputSize: [4], dilatedKernelSize: [5]),
      "conv1d: calculated padded input size per channel: (4). Kernel size: (5). Kernel size "
        + "can't be greater than actual input size"
    ) { _ = try conv1d(x1, w1, dilation: 2) }
    let layer = try Conv3d(inChannels: 2, outChannels: 2, kernelSize: [1, 2, 5], seed: 1)
    let x3 = tensor([1, 2, 1, 2, 4])
    expectRule(
      .kernelLargerThanInput(
        operation: "Conv3d", paddedInputSize: [1, 2, 4], dilatedKernelSize: [1, 2, 5]),
      "Conv3d: calculated padded input size per channel: (1 x 2 x 4). Kernel size: "
        + "(1 x 2 x 5). Kernel size can't be greater than actual input size"
    ) { _ = try layer(x3) }
  }

  /// PyTorch refuses an input with an empty spatial dimension ("Only zero batch or zero
  /// channel inputs are supported, but got input shape: [1, 2, 1, 0]"), even when the padding
  /// would leave room for the kernel.
  @Test func emptySpatialDimensionIsRefusedAsInPyTorch() throws {
    let x = tensor([1, 2, 0])
    let w = tensor([2, 2, 3])
    expectRule(
      .emptySpatialInput(operation: "conv1d", shape: [1, 2, 0]),
      "conv1d: input of size [1, 2, 0] has an empty spatial dimension: only zero batch or "
        + "zero channel inputs are supported"
    ) { _ = try conv1d(x, w, padding: 2) }
    expectRule(
      .emptySpatialInput(operation: "conv_transpose1d", shape: [1, 2, 0]),
      "conv_transpose1d: input of size [1, 2, 0] has an empty spatial dimension: only zero "
        + "batch or zero channel inputs are supported"
    ) { _ = try convTranspose1d(x, w) }
  }

  @Test func kernelAsLargeAsPaddedInputIsAccepted() throws {
    let y = try conv2d(tensor([1, 2, 3, 3]), tensor([2, 2, 5, 3]), padding: [1, 0])
    #expect(y.shape == [1, 2, 1, 1])
  }

  // MARK: - Stride, dilation, padding and their counts

  @Test func strideMustBePositive() throws {
    let x = tensor([1, 2, 5, 5])
    let w = tensor([2, 2, 3, 3])
    expectRule(
      .nonPositiveStride(operation: "conv2d", stride: [1, 0]),
      "conv2d: stride [1, 0] is not supported: non-positive stride is not supported"
    ) { _ = try conv2d(x, w, stride: [1, 0]) }
    expectRule(
      .nonPositiveStride(operation: "conv2d", stride: [-1, -1]),
      "conv2d: stride [-1, -1] is not supported: non-positive stride is not supported"
    ) { _ = try conv2d(x, w, stride: -1) }
    expectRule(
      .nonPositiveStride(operation: "conv_transpose2d", stride: [0, 1]),
      "conv_transpose2d: stride [0, 1] is not supported: non-positive stride is not supported"
    ) { _ = try convTranspose2d(x, w, stride: [0, 1]) }
    expectRule(
      .nonPositiveStride(operation: "Conv1d", stride: [0]),
      "Conv1d: stride [0] is not supported: non-positive stride is not supported"
    ) { _ = try Conv1d(inChannels: 2, outChannels: 2, kernelSize: 3, stride: 0) }
  }

  @Test func dilationMustBePositive() throws {
    let x = tensor([1, 2, 5, 5])
    let w = tensor([2, 2, 3, 3])
    expectRule(
      .nonPositiveDilation(operation: "conv2d", dilation: [0, 1]),
      "conv2d: dilation [0, 1] is not supported: dilation should be greater than zero"
    ) { _ = try conv2d(x, w, dilation: [0, 1]) }
    expectRule(
      .nonPositiveDilation(operation: "conv_transpose2d", dilation: [1, 0]),
      "conv_transpose2d: dilation [1, 0] is not supported: dilation should be greater than zero"
    ) { _ = try convTranspose2d(x, w, dilation: [1, 0]) }
    expectRule(
      .nonPositiveDilation(operation: "Conv3d", dilation: [-1, -1, -1]),
      "Conv3d: dilation [-1, -1, -1] is not supported: dilation should be greater than zero"
    ) { _ = try Conv3d(inChannels: 2, outChannels: 2, kernelSize: 3, dilation: -1) }
  }

  @Test func paddingMustNotBeNegative() throws {
    let x = tensor([1, 2, 5, 5])
    let w = tensor([2, 2, 3, 3])
    expectRule(
      .negativePadding(operation: "conv2d", padding: [-1, 1]),
      "conv2d: padding [-1, 1] is not supported: negative padding is not supported"
    ) { _ = try conv2d(x, w, padding: [-1, 1]) }
    expectRule(
      .negativePadding(operation: "conv2d", padding: [0, 0, 0, -2]),
      "conv2d: padding [0, 0, 0, -2] is not supported: negative padding is not supported"
    ) { _ = try conv2d(x, w, padding: [0, 0, 0, -2]) }
    expectRule(
      .negativePadding(operation: "conv_transpose2d", padding: [0, -1]),
      "conv_transpose2d: padding [0, -1] is not supported: negative padding is not supported"
    ) { _ = try convTranspose2d(x, w, padding: [0, -1]) }
    expectRule(
      .negativePadding(operation: "Conv2d", padding: [-1]),
      "Conv2d: padding [-1] is not supported: negative padding is not supported"
    ) { _ = try Conv2d(inChannels: 2, outChannels: 2, kernelSize: 3, padding: -1) }
  }

  @Test func perDimensionArgumentsTakeOneValueOrOnePerDimension() throws {
    let x = tensor([1, 2, 5, 5])
    let w = tensor([2, 2, 3, 3])
    expectRule(
      .argumentCount(operation: "conv2d", name: "stride", values: [1, 2, 3], spatialRank: 2),
      "conv2d: stride [1, 2, 3] has 3 values; expected 1 or 2 for 2 spatial dimensions"
    ) { _ = try conv2d(x, w, stride: [1, 2, 3]) }
    expectRule(
      .argumentCount(operation: "conv2d", name: "stride", values: [], spatialRank: 2),
      "conv2d: stride [] has 0 values; expected 1 or 2 for 2 spatial dimensions"
    ) { _ = try conv2d(x, w, stride: []) }
    expectRule(
      .argumentCount(operation: "conv2d", name: "padding", values: [1, 2, 3], spatialRank: 2),
      "conv2d: padding [1, 2, 3] has 3 values; expected 1 or 2 (or 4: begins, then ends) for 2 "
        + "spatial dimensions"
    ) { _ = try conv2d(x, w, padding: [1, 2, 3]) }
    let x3 = tensor([1, 2, 5, 5, 5])
    let w3 = tensor([2, 2, 3, 3, 3])
    expectRule(
      .argumentCount(operation: "conv3d", name: "dilation", values: [1, 2], spatialRank: 3),
      "conv3d: dilation [1, 2] has 2 values; expected 1 or 3 for 3 spatial dimensions"
    ) { _ = try conv3d(x3, w3, dilation: [1, 2]) }
    expectRule(
      .argumentCount(
        operation: "conv_transpose2d", name: "output_padding", values: [1, 1, 1], spatialRank: 2),
      "conv_transpose2d: output_padding [1, 1, 1] has 3 values; expected 1 or 2 for 2 spatial "
        + "dimensions"
    ) { _ = try convTranspose2d(x, w, stride: 2, outputPadding: [1, 1, 1]) }
    expectRule(
      .argumentCount(operation: "Conv2d", name: "kernel_size", values: [3, 3, 3], spatialRank: 2),
      "Conv2d: kernel_size [3, 3, 3] has 3 values; expected 1 or 2 for 2 spatial dimensions"
    ) { _ = try Conv2d(inChannels: 2, outChannels: 2, kernelSize: [3, 3, 3]) }
    // One spatial dimension: the message says so in the singular.
    let x1 = tensor([1, 2, 5])
    let w1 = tensor([2, 2, 3])
    let rule = ConvolutionError.argumentCount(
      operation: "conv1d", name: "padding", values: [1, 2, 3], spatialRank: 1)
    #expect(throws: rule) { _ = try conv1d(x1, w1, padding: [1, 2, 3]) }
    #expect(rule.description.hasPrefix("conv1d: padding [1, 2, 3] has 3 values; expected 1"))
    #expect(rule.description.hasSuffix(" for 1 spatial dimension"))
  }

  @Test func samePaddingNeedsStrideOne() throws {
    let x = tensor([1, 2, 5, 5])
    let w = tensor([2, 2, 3, 3])
    expectRule(
      .sameWithStride(operation: "conv2d", stride: [2, 2]),
      "conv2d: padding='same' is not supported for strided convolutions (stride [2, 2]); use "
        + "stride 1 or explicit padding"
    ) { _ = try conv2d(x, w, stride: 2, padding: .same) }
    expectRule(
      .sameWithStride(operation: "Conv2d", stride: [1, 2]),
      "Conv2d: padding='same' is not supported for strided convolutions (stride [1, 2]); use "
        + "stride 1 or explicit padding"
    ) {
      _ = try Conv2d(
        inChannels: 2, outChannels: 2, kernelSize: 3, stride: [1, 2], padding: .same)
    }
    expectRule(
      .sameWithStride(operation: "Conv2d", stride: [2, 2]),
      "Conv2d: padding='same' is not supported for strided convolutions (stride [2, 2]); use "
        + "stride 1 or explicit padding"
    ) {
      _ = try DepthwiseSeparableConv2d(
        inChannels: 2, outChannels: 4, kernelSize: 3, stride: 2, padding: .same)
    }
    // 'valid' is fine with any stride.
    #expect(try conv2d(x, w, stride: 2, padding: .valid).shape == [1, 2, 2, 2])
  }

  @Test func namedPaddingIsRefusedForTransposed() throws {
    let x = tensor([1, 2, 4, 4])
    let w = tensor([2, 2, 3, 3])
    expectRule(
      .namedPaddingForTransposed(operation: "conv_transpose2d", padding: .same),
      "conv_transpose2d: padding='same' is not supported for transposed convolutions; give the "
        + "padding as integers"
    ) { _ = try convTranspose2d(x, w, padding: .same) }
    let x1 = tensor([1, 2, 4])
    let w1 = tensor([2, 2, 3])
    expectRule(
      .namedPaddingForTransposed(operation: "conv_transpose1d", padding: .valid),
      "conv_transpose1d: padding='valid' is not supported for transposed convolutions; give "
        + "the padding as integers"
    ) { _ = try convTranspose1d(x1, w1, padding: .valid) }
    expectRule(
      .namedPaddingForTransposed(operation: "ConvTranspose2d", padding: .same),
      "ConvTranspose2d: padding='same' is not supported for transposed convolutions; give the "
        + "padding as integers"
    ) { _ = try ConvTranspose2d(inChannels: 2, outChannels: 2, kernelSize: 3, padding: .same) }
  }
}
