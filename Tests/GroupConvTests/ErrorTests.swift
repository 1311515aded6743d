import Foundation
import GroupConv
import Testing

// Every rule of `ConvolutionError`, each broken through the public API (the functional
// forms, `Convolution`, the layers), with the exact error and its message; then every case
// PyTorch refused in Fixtures/manifest.json, which must be refused here too.

/// Expects `body` to throw exactly `rule`, and `rule` to read `message`.
private func expectRule(
  _ rule: ConvolutionError, _ message: String, sourceLocation: SourceLocation = #_sourceLocation,
  performing body: () throws -> Void
) {
  #expect(rule.description == message, sourceLocation: sourceLocation)
  #expect(throws: rule, sourceLocation: sourceLocation) { try body() }
}

/// A tensor of `shape` filled with a small constant; only its shape matters here. The shapes
/// are constants of these tests, never negative.
private func tensor(_ shape: [Int]) -> Tensor {
  try! Tensor(shape: shape, repeating: 0.25)
}

@Suite struct ErrorTests {
  // MARK: - Channels and groups

  @Test func inputChannelsMustBeMultipleOfGroups() throws {
    let x = tensor([1, 6, 5, 5])
    let w = tensor([12, 1, 3, 3])
    expectRule(
      .channelsNotDivisibleByGroups(
        operation: "conv2d", role: .input, channels: 6, groups: 4, inputChannels: 6,
        outputChannels: 12),
      "conv2d: in_channels 6 is not divisible by groups 4; valid groups for 6 input and 12 "
        + "output channels are 1, 2, 3, 6"
    ) { _ = try conv2d(x, w, groups: 4) }
    expectRule(
      .channelsNotDivisibleByGroups(
        operation: "Conv2d", role: .input, channels: 6, groups: 4, inputChannels: 6,
        outputChannels: 12),
      "Conv2d: in_channels 6 is not divisible by groups 4; valid groups for 6 input and 12 "
        + "output channels are 1, 2, 3, 6"
    ) { _ = try Conv2d(inChannels: 6, outChannels: 12, kernelSize: 3, groups: 4) }
  }

  @Test func outputChannelsMustBeMultipleOfGroups() throws {
    let x = tensor([1, 4, 5, 5])
    let w = tensor([6, 1, 3, 3])
    expectRule(
      .channelsNotDivisibleByGroups(
        operation: "conv2d", role: .output, channels: 6, groups: 4, inputChannels: 4,
        outputChannels: 6),
      "conv2d: out_channels 6 is not divisible by groups 4; valid groups for 4 input and 6 "
        + "output channels are 1, 2"
    ) { _ = try conv2d(x, w, groups: 4) }
    let x3 = tensor([1, 4, 3, 3, 3])
    let w3 = tensor([3, 2, 2, 2, 2])
    expectRule(
      .channelsNotDivisibleByGroups(
        operation: "conv3d", role: .output, channels: 3, groups: 2, inputChannels: 4,
        outputChannels: 3),
      "conv3d: out_channels 3 is not divisible by groups 2; valid groups for 4 input and 3 "
        + "output channels are 1"
    ) { _ = try conv3d(x3, w3, groups: 2) }
    expectRule(
      .channelsNotDivisibleByGroups(
        operation: "Conv1d", role: .output, channels: 6, groups: 4, inputChannels: 4,
        outputChannels: 6),
      "Conv1d: out_channels 6 is not divisible by groups 4; valid groups for 4 input and 6 "
        + "output channels are 1, 2"
    ) { _ = try Conv1d(inChannels: 4, outChannels: 6, kernelSize: 3, groups: 4) }
  }

  @Test func transposedInputChannelsMustBeMultipleOfGroups() throws {
    let x = tensor([1, 3, 4, 4])
    let w = tensor([3, 2, 3, 3])
    expectRule(
      .channelsNotDivisibleByGroups(
        operation: "conv_transpose2d", role: .input, channels: 3, groups: 2, inputChannels: 3,
        outputChannels: 4),
      "conv_transpose2d: in_channels 3 is not divisible by groups 2; valid groups for 3 input "
        + "and 4 output channels are 1"
    ) { _ = try convTranspose2d(x, w, groups: 2) }
    expectRule(
      .channelsNotDivisibleByGroups(
        operation: "ConvTranspose2d", role: .output, channels: 6, groups: 4, inputChannels: 8,
        outputChannels: 6),
      "ConvTranspose2d: out_channels 6 is not divisible by groups 4; valid groups for 8 input "
        + "and 6 output channels are 1, 2"
    ) { _ = try ConvTranspose2d(inChannels: 8, outChannels: 6, kernelSize: 3, groups: 4) }
  }

  @Test func validGroupsDivideBothChannelCounts() {
    #expect(ConvolutionError.validGroups(inputChannels: 6, outputChannels: 12) == [1, 2, 3, 6])
    #expect(ConvolutionError.validGroups(inputChannels: 12, outputChannels: 8) == [1, 2, 4])
    #expect(ConvolutionError.validGroups(inputChannels: 7, outputChannels: 7) == [1, 7])
    #expect(ConvolutionError.validGroups(inputChannels: 0, outputChannels: 0) == [])
  }

  @Test func groupsMustBePositive() throws {
    let x = tensor([1, 2, 5, 5])
    let w = tensor([2, 2, 3, 3])
    expectRule(
      .nonPositiveGroups(operation: "conv2d", groups: 0),
      "conv2d: groups 0 is not supported: non-positive groups is not supported"
    ) { _ = try conv2d(x, w, groups: 0) }
    let x1 = tensor([1, 2, 5])
    let w1 = tensor([2, 2, 3])
    expectRule(
      .nonPositiveGroups(operation: "conv1d", groups: -2),
      "conv1d: groups -2 is not supported: non-positive groups is not supported"
    ) { _ = try conv1d(x1, w1, groups: -2) }
    expectRule(
      .nonPositiveGroups(operation: "Conv2d", groups: 0),
      "Conv2d: groups 0 is not supported: non-positive groups is not supported"
    ) { _ = try Conv2d(inChannels: 2, outChannels: 2, kernelSize: 3, groups: 0) }
    expectRule(
      .nonPositiveGroups(operation: "ConvTranspose1d", groups: -1),
      "ConvTranspose1d: groups -1 is not supported: non-positive groups is not supported"
    ) { _ = try ConvTranspose1d(inChannels: 2, outChannels: 2, kernelSize: 3, groups: -1) }
  }

  // MARK: - Weight and bias

  @Test func weightChannelsMustFitInputChannelsAndGroups() throws {
    expectRule(
      .weightChannelsMismatch(
        operation: "conv2d", groups: 1, transposed: false, weightShape: [4, 3, 3, 3],
        inputShape: [1, 4, 5, 5], expectedChannels: 3),
      "conv2d: given groups=1, weight of size [4, 3, 3, 3], expected input[1, 4, 5, 5] to have "
        + "3 channels, but got 4 channels instead"
    ) { _ = try conv2d(tensor([1, 4, 5, 5]), tensor([4, 3, 3, 3])) }
    let x1 = tensor([1, 4, 5])
    let w1 = tensor([4, 1, 3])
    expectRule(
      .weightChannelsMismatch(
        operation: "conv1d", groups: 2, transposed: false, weightShape: [4, 1, 3],
        inputShape: [1, 4, 5], expectedChannels: 2),
      "conv1d: given groups=2, weight of size [4, 1, 3], expected input[1, 4, 5] to have 2 "
        + "channels, but got 4 channels instead"
    ) { _ = try conv1d(x1, w1, groups: 2) }
    let xt = tensor([1, 4, 4, 4])
    let wt = tensor([3, 2, 3, 3])
    expectRule(
      .weightChannelsMismatch(
        operation: "conv_transpose2d", groups: 1, transposed: true, weightShape: [3, 2, 3, 3],
        inputShape: [1, 4, 4, 4], expectedChannels: 3),
      "conv_transpose2d: given transposed=1, weight of size [3, 2, 3, 3], expected "
        + "input[1, 4, 4, 4] to have 3 channels, but got 4 channels instead"
    ) { _ = try convTranspose2d(xt, wt) }
  }

  @Test func layerRefusesInputWithOtherChannelCount() throws {
    let layer = try Conv2d(inChannels: 4, outChannels: 2, kernelSize: 3, seed: 1)
    let x = tensor([1, 3, 5, 5])
    expectRule(
      .weightChannelsMismatch(
        operation: "Conv2d", groups: 1, transposed: false, weightShape: [2, 4, 3, 3],
        inputShape: [1, 3, 5, 5], expectedChannels: 4),
      "Conv2d: given groups=1, weight of size [2, 4, 3, 3], expected input[1, 3, 5, 5] to have "
        + "4 channels, but got 3 channels instead"
    ) { _ = try layer(x) }
  }

  @Test func weightRankMustBeInputRank() throws {
    let x = tensor([1, 2, 5, 5])
    let w = tensor([2, 2, 3])
    expectRule(
      .weightRank(operation: "conv2d", weightShape: [2, 2, 3], inputShape: [1, 2, 5, 5]),
      "conv2d: expected a 4-D weight for input of size [1, 2, 5, 5], but got weight of size "
        + "[2, 2, 3]"
    ) { _ = try conv2d(x, w) }
    let x3 = tensor([1, 2, 4, 4, 4])
    let w3 = tensor([2, 2, 3, 3])
    expectRule(
      .weightRank(operation: "conv_transpose3d", weightShape: [2, 2, 3, 3], inputShape: x3.shape),
      "conv_transpose3d: expected a 5-D weight for input of size [1, 2, 4, 4, 4], but got "
        + "weight of size [2, 2, 3, 3]"
    ) { _ = try convTranspose3d(x3, w3) }
    // A layer's weight can be replaced; the next forward checks it.
    let layer = try Conv2d(inChannels: 2, outChannels: 2, kernelSize: 3, seed: 1)
    layer.weight = tensor([2, 2, 3])
    expectRule(
      .weightRank(operation: "Conv2d", weightShape: [2, 2, 3], inputShape: [1, 2, 5, 5]),
      "Conv2d: expected a 4-D weight for input of size [1, 2, 5, 5], but got weight of size "
        + "[2, 2, 3]"
    ) { _ = try layer(x) }
  }

  @Test func kernelMustNotBeEmpty() throws {
    let x = tensor([1, 2, 5, 5])
    let w = tensor([2, 2, 0, 3])
    expectRule(
      .emptyKernel(operation: "conv2d", weightShape: [2, 2, 0, 3]),
      "conv2d: weight of size [2, 2, 0, 3] has an empty kernel: kernel sizes must be positive"
    ) { _ = try conv2d(x, w) }
  }

  @Test func biasMustHoldOneValuePerOutputChannel() throws {
    let x = tensor([1, 2, 5, 5])
    let w = tensor([4, 2, 3, 3])
    let short = tensor([3])
    expectRule(
      .biasShape(operation: "conv2d", biasShape: [3], weightShape: [4, 2, 3, 3], outputChannels: 4,
        transposed: false),
      "conv2d: given weight of size [4, 2, 3, 3], expected bias to be 1-dimensional with 4 "
        + "elements, but got bias of size [3] instead"
    ) { _ = try conv2d(x, w, short) }
    let column = tensor([4, 1])
    expectRule(
      .biasShape(
        operation: "conv2d", biasShape: [4, 1], weightShape: [4, 2, 3, 3], outputChannels: 4,
        transposed: false),
      "conv2d: given weight of size [4, 2, 3, 3], expected bias to be 1-dimensional with 4 "
        + "elements, but got bias of size [4, 1] instead"
    ) { _ = try conv2d(x, w, column) }
    // Transposed: the output has weight[1] * groups channels.
    let xt = tensor([1, 4, 4, 4])
    expectRule(
      .biasShape(
        operation: "conv_transpose2d", biasShape: [3], weightShape: [4, 2, 3, 3],
        outputChannels: 2, transposed: true),
      "conv_transpose2d: given transposed=1, weight of size [4, 2, 3, 3], expected bias to be "
        + "1-dimensional with 2 elements, but got bias of size [3] instead"
    ) { _ = try convTranspose2d(xt, w, short) }
    let layer = try Conv2d(inChannels: 2, outChannels: 4, kernelSize: 3, seed: 1)
    layer.bias = short
    expectRule(
      .biasShape(operation: "Conv2d", biasShape: [3], weightShape: [4, 2, 3, 3], outputChannels: 4, transposed: false),
      "Conv2d: given weight of size [4, 2, 3, 3], expected bias to be 1-dimensional with 4 "
        + "elements, but got bias of size [3] instead"
    ) { _ = try layer(x) }
  }

  @Test func biasReplacedAfterForwardIsStillRefused() throws {
    let layer = try Conv2d(inChannels: 2, outChannels: 4, kernelSize: 3, seed: 1)
    let x = tensor([1, 2, 5, 5])
    _ = try layer(x)
    layer.bias = tensor([3])
    #expect(throws: ConvolutionError.self) { _ = try layer(x) }
  }

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
