import GroupConv
import TestSupport
import Testing

@Suite struct GroupStructureTests {
  @Test(arguments: [(6, 4, 2), (6, 6, 3), (4, 8, 4), (5, 5, 1)])
  func groupedConvolutionEqualsDenseWithExpandedWeight(
    inChannels: Int, outChannels: Int, groups: Int
  ) throws {
    let x = try Tensor.random(shape: [2, inChannels, 6, 5], seed: 1)
    let w = try Tensor.random(shape: [outChannels, inChannels / groups, 3, 3], seed: 2)
    let dense = try expandGroupedWeight(w, groups: groups)
    #expect(dense.shape == [outChannels, inChannels, 3, 3])
    expectClose(
      try conv2d(x, dense, padding: 1), try conv2d(x, w, padding: 1, groups: groups),
      .float32, "groups \(groups)")
  }

  @Test func expandedWeightIsBlockDiagonal() throws {
    let w = try Tensor(shape: [4, 1, 1, 1], scalars: [1, 2, 3, 4])
    let dense = try expandGroupedWeight(w, groups: 4)
    #expect(dense.scalars == [1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0, 0, 0, 4])
    let pairs = try expandGroupedWeight(
      try Tensor(shape: [4, 2, 1], scalars: [1, 2, 3, 4, 5, 6, 7, 8]), groups: 2)
    #expect(
      pairs.scalars == [1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 5, 6, 0, 0, 7, 8])
  }

  @Test func transposedWeightExpandsAlongItsSecondDimension() throws {
    let x = try Tensor.random(shape: [1, 4, 5, 5], seed: 3)
    let w = try Tensor.random(shape: [4, 3, 3, 3], seed: 4)
    let dense = try expandGroupedWeight(w, groups: 2, transposed: true)
    #expect(dense.shape == [4, 6, 3, 3])
    expectClose(
      try convTranspose2d(x, dense, stride: 2), try convTranspose2d(x, w, stride: 2, groups: 2))
  }

  @Test(arguments: [1, 2, 3])
  func separablePairEqualsOneDenseConvolution(multiplier: Int) throws {
    let channels = 3
    let x = try Tensor.random(shape: [1, channels, 7, 6], seed: 5)
    let d = try Tensor.random(shape: [channels * multiplier, 1, 3, 3], seed: 6)
    let db = try Tensor.random(shape: [channels * multiplier], seed: 7)
    let p = try Tensor.random(shape: [5, channels * multiplier, 1, 1], seed: 8)
    let pb = try Tensor.random(shape: [5], seed: 9)
    let composite = try composeSeparable(
      depthwise: d, depthwiseBias: db, pointwise: p, pointwiseBias: pb, channels: channels)
    #expect(composite.weight.shape == [5, channels, 3, 3])
    let twoStages = try conv2d(conv2d(x, d, db, padding: 1, groups: channels), p, pb)
    expectClose(try conv2d(x, composite.weight, composite.bias, padding: 1), twoStages)
  }

  @Test func separableShapesMustChain() throws {
    let d = try Tensor(shape: [4, 1, 3, 3])
    #expect(
      throws: ConvolutionError.shapeMismatch(
        operation: "composeSeparable", name: "pointwise weight", shape: [2, 3, 1, 1],
        expected: [2, 4, 1, 1])
    ) { try composeSeparable(depthwise: d, pointwise: try Tensor(shape: [2, 3, 1, 1]), channels: 4) }
  }

  @Test func channelShuffleInterleavesTheGroups() throws {
    // Channels 0..5 in 2 groups [0 1 2 | 3 4 5] become 0 3 1 4 2 5 (PyTorch's channel_shuffle).
    let x = try Tensor(shape: [1, 6, 1], scalars: [0, 1, 2, 3, 4, 5])
    #expect(try channelShuffle(x, groups: 2).scalars == [0, 3, 1, 4, 2, 5])
    #expect(try channelShuffle(x, groups: 3).scalars == [0, 2, 4, 1, 3, 5])
    #expect(try channelShuffle(x, groups: 1) == x)
    #expect(
      throws: ConvolutionError.channelsNotDivisibleByGroups(
        operation: "channel_shuffle", role: .input, channels: 6, groups: 4, inputChannels: 6,
        outputChannels: 6)
    ) { try channelShuffle(x, groups: 4) }
  }
}

/// Cost figures against values worked by hand.
@Suite struct ConvolutionCostTests {
  @Test func denseThreeByThree() throws {
    // 64 → 64, 3×3, 56×56, padding 1: 64·64·9 = 36 864 weights + 64 biases;
    // 56·56·64·64·9 = 115 605 504 multiply-adds; 56·56·64·4 = 802 816 bytes each way.
    let cost = try ConvolutionCost(
      inputShape: [1, 64, 56, 56], weightShape: [64, 64, 3, 3], biasShape: [64],
      options: ConvolutionOptions(padding: 1))
    #expect(cost.parameters == 36_928)
    #expect(cost.multiplyAdds == 115_605_504)
    #expect(cost.flops == 231_211_008)
    #expect(cost.inputBytes == 802_816 && cost.outputBytes == 802_816)
    #expect(cost.weightBytes == 147_712)
    #expect(abs(cost.arithmeticIntensity - 231_211_008.0 / 1_753_344) < 1e-9)
  }

  @Test func resnextGroupedThreeByThree() throws {
    // 128 → 128, 32 groups of 4: 128·4·9 = 4 608 weights; 56·56·128·4·9 = 14 450 688 MACs.
    let cost = try ConvolutionCost(
      inputShape: [1, 128, 56, 56], weightShape: [128, 4, 3, 3],
      options: ConvolutionOptions(padding: 1, groups: 32))
    #expect(cost.parameters == 4_608)
    #expect(cost.multiplyAdds == 14_450_688)
    #expect(cost.inputBytes == 1_605_632 && cost.outputBytes == 1_605_632)
    // 28 901 376 FLOP over 2 · 1 605 632 + 18 432 bytes ≈ 8.95 FLOP/byte.
    #expect(abs(cost.arithmeticIntensity - 28_901_376.0 / 3_229_696) < 1e-9)
    #expect(abs(cost.arithmeticIntensity - 8.95) < 0.01)
  }

  @Test func depthwiseStrideTwoAndMultiplier() throws {
    // 144 channels, 3×3, stride 2, 56×56 → 28×28: 144·9 weights + 144 biases;
    // 28·28·144·9 = 1 016 064 MACs.
    let dw = try ConvolutionCost(
      inputShape: [1, 144, 56, 56], weightShape: [144, 1, 3, 3], biasShape: [144],
      options: ConvolutionOptions(stride: 2, padding: 1, groups: 144))
    #expect(dw.parameters == 1_440)
    #expect(dw.multiplyAdds == 1_016_064)
    #expect(dw.outputBytes == 451_584)
    // Multiplier 2: 32 → 64 channels at 112×112: 112·112·64·9 = 7 225 344 MACs.
    let m2 = try ConvolutionCost(
      inputShape: [1, 32, 112, 112], weightShape: [64, 1, 3, 3],
      options: ConvolutionOptions(padding: 1, groups: 32))
    #expect(m2.multiplyAdds == 7_225_344)
    #expect(m2.parameters == 576)
  }

  @Test func pointwiseWithBatch() throws {
    // 1×1, 24 → 144 at 56×56, batch 8: 8·56·56·144·24 = 86 704 128 MACs.
    let cost = try ConvolutionCost(inputShape: [8, 24, 56, 56], weightShape: [144, 24, 1, 1])
    #expect(cost.multiplyAdds == 86_704_128)
    #expect(cost.parameters == 3_456)
  }
}
