import GroupConv
import TestSupport
import Testing

@Suite struct ConnectivityTests {
  @Test(arguments: [(6, 4, 2), (6, 6, 3), (4, 8, 4), (5, 5, 1), (8, 8, 8)])
  func groupedIsBlockDiagonalAndMatchesTheExpandedWeight(
    inChannels: Int, outChannels: Int, groups: Int
  ) throws {
    let c = try ChannelConnectivity.grouped(
      inputChannels: inChannels, outputChannels: outChannels, groups: groups)
    let (rowsPerGroup, columnsPerGroup) = (outChannels / groups, inChannels / groups)
    for o in 0..<outChannels {
      let group = o / rowsPerGroup
      #expect(c.inputs(seenBy: o) == Array(group * columnsPerGroup..<(group + 1) * columnsPerGroup))
    }
    #expect(c.connectionCount == outChannels * inChannels / groups)
    #expect(abs(c.density - 1 / Double(groups)) < 1e-12)
    // The same matrix, read off a real grouped weight's dense equivalent.
    let w = try Tensor.random(shape: [outChannels, inChannels / groups, 3, 3], seed: 1)
    #expect(try ChannelConnectivity(groupedWeight: w, groups: groups) == c)
  }

  @Test func depthwiseWithMultiplierGivesEachInputItsOwnRows() throws {
    let c = try ChannelConnectivity.grouped(inputChannels: 3, outputChannels: 6, groups: 3)
    #expect(c.description == "#..\n#..\n.#.\n.#.\n..#\n..#")
    #expect(c.inputGroups(seenBy: 3, groups: 3) == [1])
  }

  @Test func stackedGroupedLayersNeverCrossGroups() throws {
    let first = try ChannelConnectivity.grouped(inputChannels: 8, outputChannels: 16, groups: 4)
    let second = try ChannelConnectivity.grouped(inputChannels: 16, outputChannels: 16, groups: 4)
    #expect(
      try first.followed(by: second)
        == ChannelConnectivity.grouped(inputChannels: 8, outputChannels: 16, groups: 4))
  }

  @Test(arguments: [(16, 4), (8, 2), (9, 3), (6, 3), (12, 4)])
  func aShuffleBetweenGroupedLayersMixesEveryGroupWhenGroupsSquaredFit(
    channels: Int, groups: Int
  ) throws {
    let grouped = try ChannelConnectivity.grouped(
      inputChannels: channels, outputChannels: channels, groups: groups)
    let shuffle = try ChannelConnectivity.channelShuffle(channels: channels, groups: groups)
    let mixed = try grouped.followed(by: shuffle).followed(by: grouped)
    let perGroup = channels / groups
    for o in 0..<channels {
      #expect(
        mixed.inputGroups(seenBy: o, groups: groups).count == min(groups, perGroup),
        "output \(o)")
    }
    #expect((mixed.density == 1) == (groups * groups <= channels))
  }

  @Test func shuffleConnectivityIsThePermutationChannelShuffleApplies() throws {
    let x = try Tensor.random(shape: [2, 6, 3, 2], seed: 2)
    let shuffled = try channelShuffle(x, groups: 3)
    let c = try ChannelConnectivity.channelShuffle(channels: 6, groups: 3)
    for o in 0..<6 {
      let sources = c.inputs(seenBy: o)
      #expect(sources.count == 1)
      #expect(shuffled[1, o, 2, 1] == x[1, sources[0], 2, 1])
    }
  }

  @Test func probingRealLayersGivesTheBooleanProduct() throws {
    let first = try Conv2d(inChannels: 8, outChannels: 8, kernelSize: 1, groups: 4, seed: 3)
    let second = try Conv2d(inChannels: 8, outChannels: 12, kernelSize: 1, groups: 4, seed: 4)
    let expected = try ChannelConnectivity(groupedWeight: first.weight, groups: 4)
      .followed(by: try ChannelConnectivity.channelShuffle(channels: 8, groups: 4))
      .followed(by: try ChannelConnectivity(groupedWeight: second.weight, groups: 4))
    // Probing compares outputs exactly with those of a zero input.
    let probed = try withSteadyKernelSettings {
      try ChannelConnectivity.probing(inputChannels: 8) { x in
        try second(channelShuffle(first(x), groups: 4))
      }
    }
    #expect(probed == expected)
    // Each group of the second layer reads 2 shuffled channels: from 2 of the first's 4
    // groups. Biases add to every output but connect nothing.
    #expect(probed.density == 0.5)
  }

  @Test func separableCompositeIsDenseThoughEachStageIsSparse() throws {
    let d = try Tensor.random(shape: [4, 1, 3, 3], seed: 5)
    let p = try Tensor.random(shape: [6, 4, 1, 1], seed: 6)
    let composite = try composeSeparable(depthwise: d, pointwise: p, channels: 4)
    let depthwise = try ChannelConnectivity(groupedWeight: d, groups: 4)
    let pointwise = try ChannelConnectivity(weight: p)
    #expect(depthwise.density == 0.25)
    #expect(try ChannelConnectivity(weight: composite.weight) == depthwise.followed(by: pointwise))
    #expect(try ChannelConnectivity(weight: composite.weight).density == 1)
  }

  @Test func zeroFiltersAreNotConnections() throws {
    var w = try Tensor(shape: [2, 2, 2, 1], repeating: 0)
    w[0, 1, 1, 0] = 3
    w[1, 0, 0, 0] = -1
    let c = try ChannelConnectivity(weight: w)
    #expect(c.description == ".#\n#.")
    #expect(c.density(outputs: 0..<2, inputs: 0..<1) == 0.5)
    #expect(c.density(outputs: 0..<1, inputs: 1..<2) == 1)
  }

  @Test func groupsThatDoNotDivideAreRefusedWithTheValidOnes() {
    #expect(
      throws: ConvolutionError.channelsNotDivisibleByGroups(
        operation: "ChannelConnectivity.grouped", role: .input, channels: 6, groups: 4,
        inputChannels: 6, outputChannels: 8)
    ) { try ChannelConnectivity.grouped(inputChannels: 6, outputChannels: 8, groups: 4) }
    #expect(throws: ConvolutionError.nonPositiveGroups(operation: "channel_shuffle", groups: 0)) {
      try ChannelConnectivity.channelShuffle(channels: 4, groups: 0)
    }
  }

  @Test func compositionNeedsMatchingChannels() throws {
    let sixFromFour = try ChannelConnectivity.grouped(
      inputChannels: 4, outputChannels: 6, groups: 2)
    let fourFromFour = try ChannelConnectivity.grouped(
      inputChannels: 4, outputChannels: 4, groups: 2)
    #expect(
      throws: ConvolutionError.shapeMismatch(
        operation: "ChannelConnectivity.followed(by:)", name: "next connectivity",
        shape: [4, 4], expected: [4, 6])
    ) { try sixFromFour.followed(by: fourFromFour) }
  }
}
