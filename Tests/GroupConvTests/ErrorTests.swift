import Foundation
import GroupConv
import Testing

// Every rule of `ConvolutionError`, each broken through the public API (the functional
// forms, `Convolution`, the layers), with the exact error and its message; then every case
// PyTorch refused in Fixtures/manifest.json, which must be refused here too.

/// Expects `body` to throw exactly `rule`, and `rule` to read `message`.
func expectRule(
  _ rule: ConvolutionError, _ message: String, sourceLocation: SourceLocation = #_sourceLocation,
  performing body: () throws -> Void
) {
  #expect(rule.description == message, sourceLocation: sourceLocation)
  #expect(throws: rule, sourceLocation: sourceLocation) { try body() }
}

/// A tensor of `shape` filled with a small constant; only its shape matters here. The shapes
/// are constants of these tests, never negative.
func tensor(_ shape: [Int]) -> Tensor {
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
}
