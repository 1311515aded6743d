import GroupConv
import TestSupport
import Testing

@testable import GroupConvTool

// The figures of `groupconv explain` against hand-computed values, and the equivalences and
// channel-shuffle facts it prints, checked on the report itself.

@Suite struct ExplainCostTests {
  private func cost(_ layer: ExplainLayer, _ name: String) throws -> ExplainCost {
    try #require(layer.variants.first { $0.name == name }, "no variant \(name)").cost
  }

  /// 64 → 128, 3×3, padding 1, 56×56: a plane of 3,136 positions; input 802,816 bytes,
  /// output 1,605,632.
  @Test func defaultLayer() throws {
    let layer = try ExplainLayer(
      inputChannels: 64, outputChannels: 128, kernel: 3, padding: nil, batch: 1, height: 56,
      width: 56, groups: nil)
    #expect(
      layer.variants.map(\.name) == [
        "dense", "groups 2", "groups 4", "groups 8", "groups 32", "depthwise ×2", "separable",
      ])
    #expect(layer.outputShape == [1, 128, 56, 56])
    // weights 128·64·9 + biases 128; 128 outputs · 3,136 positions · 64 inputs · 9 taps.
    #expect(
      try cost(layer, "dense")
        == ExplainCost(
          parameters: 73_856, multiplyAdds: 231_211_008, activationBytes: 2_408_448,
          weightBytes: 295_424))
    // groups 4: each output reads 16 channels.
    #expect(
      try cost(layer, "groups 4")
        == ExplainCost(
          parameters: 18_560, multiplyAdds: 57_802_752, activationBytes: 2_408_448,
          weightBytes: 74_240))
    // depthwise ×2: 128 filters of one channel each.
    #expect(
      try cost(layer, "depthwise ×2")
        == ExplainCost(
          parameters: 1_280, multiplyAdds: 3_612_672, activationBytes: 2_408_448,
          weightBytes: 5_120))
    // separable: 64·9 + 64, then 128·64 + 128; 1,806,336 + 25,690,112 multiply-adds; the
    // 64-channel hidden layer is written and read.
    let separable = try cost(layer, "separable")
    #expect(
      separable
        == ExplainCost(
          parameters: 8_960, multiplyAdds: 27_496_448, activationBytes: 4_014_080,
          weightBytes: 35_840))
    #expect(abs(separable.arithmeticIntensity - 54_992_896.0 / 4_049_920.0) < 1e-9)
  }

  /// ShuffleNet's grouped 1×1: 240 → 240, groups 3, 28×28, batch 2, no padding.
  @Test func groupedPointwise() throws {
    let layer = try ExplainLayer(
      inputChannels: 240, outputChannels: 240, kernel: 1, padding: nil, batch: 2, height: 28,
      width: 28, groups: [3])
    #expect(layer.padding == 0)
    #expect(layer.variants.map(\.name) == ["dense", "groups 3", "depthwise", "separable"])
    #expect(try cost(layer, "dense").parameters == 57_840)
    #expect(try cost(layer, "dense").multiplyAdds == 90_316_800)  // 2 · 240 · 784 · 240
    #expect(try cost(layer, "groups 3").parameters == 19_440)  // 240 · 80 + 240
    #expect(try cost(layer, "groups 3").multiplyAdds == 30_105_600)
    #expect(try cost(layer, "depthwise").multiplyAdds == 376_320)  // 2 · 240 · 784
  }

  /// 6 → 12, 5×5 without padding on 9×7: output 5×3; groups 3 reads 2 channels per output.
  @Test func validPaddingLayer() throws {
    let layer = try ExplainLayer(
      inputChannels: 6, outputChannels: 12, kernel: 5, padding: 0, batch: 1, height: 9,
      width: 7, groups: [3])
    #expect(layer.outputShape == [1, 12, 5, 3])
    let grouped = try cost(layer, "groups 3")
    #expect(grouped.parameters == 612)  // 12 · 2 · 25 + 12
    #expect(grouped.multiplyAdds == 9_000)  // 12 · 15 · 2 · 25
    #expect(grouped.activationBytes == 4 * (6 * 63 + 12 * 15))
    #expect(abs(grouped.arithmeticIntensity - 18_000.0 / 4_680.0) < 1e-9)
    #expect(layer.variants.map(\.name) == ["dense", "groups 3", "depthwise ×2", "separable"])
  }

  @Test func depthwiseNeedsOutputChannelsAMultipleOfInput() throws {
    let layer = try ExplainLayer(
      inputChannels: 64, outputChannels: 96, kernel: 3, padding: nil, batch: 1, height: 14,
      width: 14, groups: nil)
    #expect(layer.depthwiseMultiplier == nil)
    #expect(
      layer.variants.map(\.name) == [
        "dense", "groups 2", "groups 4", "groups 8", "groups 32", "separable",
      ])
  }

  // MARK: - Equivalences and shuffle

  @Test(arguments: [(8, 8, [2, 4]), (6, 12, [2, 3]), (16, 32, [4])])
  func equivalencesHold(inChannels: Int, outChannels: Int, groups: [Int]) throws {
    let layer = try ExplainLayer(
      inputChannels: inChannels, outputChannels: outChannels, kernel: 3, padding: nil, batch: 1,
      height: 9, width: 10, groups: groups)
    let report = try ExplainReport(layer)
    // One per grouped or depthwise variant, the halves when groups 2 is shown, separable.
    let expected = layer.variants.count - 1 + (groups.contains(2) ? 1 : 0)
    #expect(report.equivalences.count == expected)
    for check in report.equivalences {
      #expect(check.maxDifference < 1e-5, "\(check.claim): \(check.maxDifference)")
    }
    #expect(report.checkShape == [2, inChannels, 8, 8])
  }

  @Test func halvesAreTheGroupsTwoConvolution() throws {
    let layer = try ExplainLayer(
      inputChannels: 4, outputChannels: 6, kernel: 3, padding: 1, batch: 1, height: 5,
      width: 5, groups: [2])
    let conv = try Conv2d(
      inChannels: 4, outChannels: 6, kernelSize: 3, padding: 1, groups: 2,
      seed: 9)
    let x = try Tensor.random(shape: [2, 4, 5, 5], seed: 10)
    let halves = try ExplainReport.halves(x, conv, layer)
    let grouped = try conv(x)
    #expect(ExplainReport.maxDifference(halves, grouped) < 1e-6)
  }

  @Test func shuffleMixesWhatStackingKeepsApart() throws {
    let layer = try ExplainLayer(
      inputChannels: 64, outputChannels: 128, kernel: 3, padding: nil, batch: 1, height: 8,
      width: 8, groups: nil)
    // Probing compares outputs exactly with those of a zero input.
    let shuffle = try #require(try withSteadyKernelSettings { try ExplainReport(layer).shuffle })
    #expect(shuffle.groups == 4)
    #expect(shuffle.groupsSeen(shuffle.stacked) == 1...1)
    #expect(shuffle.channelsSeen(shuffle.stacked) == 16...16)
    #expect(shuffle.groupsSeen(shuffle.shuffled) == 4...4)
    #expect(shuffle.channelsSeen(shuffle.shuffled) == 64...64)
    #expect(shuffle.probingAgrees)
  }

  @Test func formatting() {
    #expect(ExplainFormat.count(73_856) == "73,856")
    #expect(ExplainFormat.count(584) == "584")
    #expect(ExplainFormat.large(231_211_008) == "231.2 M")
    #expect(ExplainFormat.bytes(2_408_448) == "2.41 MB")
    #expect(ExplainFormat.percent(1, of: 8) == "12.5%")
    #expect(ExplainFormat.percent(1280, of: 73_856) == "1.73%")
    #expect(ExplainFormat.times(64) == "64×")
    #expect(
      ExplainFormat.wrap("a bb [1, 2] c", first: "", rest: "", width: 6)
        == ["a bb", "[1, 2]", "c"])
  }
}
