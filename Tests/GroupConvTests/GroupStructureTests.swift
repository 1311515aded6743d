import GroupConv
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
