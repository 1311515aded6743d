import Foundation
import GroupConv
import TestSupport
import Testing

/// Chains of pointwise and depthwise convolutions run in the channel-blocked layout, with
/// the layout changed where a chain starts and ends, and give what the plain convolutions
/// give.
@Suite struct BlockedLayoutTests {
  /// Two inverted-residual blocks (`invertedResidualBlocks`) of 24 channels expanded to 40
  /// and 48, on a 9 × 10 plane, the output read both as a graph output and by a pooling.
  /// Channel counts that are not multiples of 16 leave padding lanes in every blocked value.
  @Test func invertedResidualBlocksMatchThePlainConvolutions() throws {
    var (graph, x, f) = try invertedResidualBlocks([1, 24, 9, 10], expanded: 40)
    graph.node("GlobalAveragePool", ["f"], ["g"])
    graph.outputs = ["f", "g"]
    let session = try InferenceSession(model: graph.model(opset: 14), blockedLayout: true)
    let steps = try #require(session.planSummary?.steps)
    #expect(
      steps.map(\.opType)
        == ["Reorder", "Conv", "Conv", "Conv", "Conv", "Conv", "Reorder", "GlobalAveragePool"])
    #expect(blockedSteps(steps) == 5)
    let outputs = try session.run(["x": x])
    expectClose(try #require(outputs["f"]), f)
    expectClose(try #require(outputs["g"]), try channelMeans(f))
  }

  /// The same blocks of 16 channels expanded to 32 on a 128 × 128 plane, where the values
  /// between their convolutions (2 MiB) are large enough to run each block's convolutions
  /// together in bands of rows: the first block's three with the residual, the second's
  /// expansion and depthwise convolution, whose output is a graph output.
  @Test func invertedResidualBlocksRunInBands() throws {
    var (graph, x, f) = try invertedResidualBlocks([1, 16, 128, 128], expanded: 32)
    graph.outputs = ["f"]
    let session = try InferenceSession(model: graph.model(opset: 14), blockedLayout: true)
    let steps = try #require(session.planSummary?.steps)
    #expect(steps.map(\.opType) == ["Reorder", "Conv", "Conv", "Reorder"])
    #expect(steps.filter { $0.detail.contains("bands of") }.count == 2)
    // x, its blocked copy, r, and f blocked and plain: not the values inside the blocks.
    #expect(session.planSummary?.unsharedBytes == 4 * (3 * 16 * 128 * 128 + 2 * 32 * 64 * 64))
    // Five layers deep, the outputs reach the tens: rounding relative to their size.
    expectClose(
      try #require(try session.run(["x": x])["f"]), f,
      .float32(scale: f.scalars.map(abs).max() ?? 0))
  }

  /// A squeeze-and-excitation block: the depthwise output pooled in the blocked layout, the
  /// gate's two 1×1 convolutions run plain, and the gate folded into the blocked projection's
  /// weights; 20 channels, so the pooled means of the padding lanes must not reach the gate.
  @Test func squeezeAndExcitationGateMatchesThePlainOperators() throws {
    let x = try Tensor.random(shape: [1, 12, 6, 7], seed: 1)
    let w1 = try Tensor.random(shape: [20, 12, 1, 1], seed: 2)
    let w2 = try Tensor.random(shape: [20, 1, 3, 3], seed: 3)
    let s1 = try Tensor.random(shape: [5, 20, 1, 1], seed: 4)
    let s2 = try Tensor.random(shape: [20, 5, 1, 1], seed: 5)
    let w3 = try Tensor.random(shape: [12, 20, 1, 1], seed: 6)
    var graph = GraphBuilder()
    graph.input("x", x.shape)
    for (name, tensor) in [("w1", w1), ("w2", w2), ("s1", s1), ("s2", s2), ("w3", w3)] {
      graph.constant(name, tensor)
    }
    graph.node("Conv", ["x", "w1"], ["a"])
    graph.node("Relu", ["a"], ["a1"])
    graph.node("Conv", ["a1", "w2"], ["d"], ["group": .int(20), "pads": .ints([1, 1, 1, 1])])
    graph.node("GlobalAveragePool", ["d"], ["m"])
    graph.node("Conv", ["m", "s1"], ["q"])
    graph.node("Relu", ["q"], ["q1"])
    graph.node("Conv", ["q1", "s2"], ["e"])
    graph.node("Sigmoid", ["e"], ["gate"])
    graph.node("Mul", ["d", "gate"], ["g"])
    graph.node("Conv", ["g", "w3"], ["y"])
    graph.outputs = ["y"]
    let session = try InferenceSession(model: graph.model(opset: 14), blockedLayout: true)
    let steps = try #require(session.planSummary?.steps)
    #expect(
      steps.map(\.opType)
        == ["Reorder", "Conv", "Conv", "GlobalAveragePool", "Conv", "Conv", "Conv", "Reorder"])
    #expect(blockedSteps(steps) == 4)
    let y = try #require(try session.run(["x": x])["y"])

    let a = try map(try convolution(x, weight: w1)) { max($0, 0) }
    let d = try convolution(a, weight: w2, options: ConvolutionOptions(padding: 1, groups: 20))
    let m = try channelMeans(d)
    let q = try map(try convolution(m, weight: s1)) { max($0, 0) }
    let gate = try map(try convolution(q, weight: s2), sigmoid)
    let g = try gated(d, by: gate)
    expectClose(y, try convolution(g, weight: w3))
  }

  /// A chain whose layout changes would copy more than it writes stays plain: 64 channels
  /// changed in for a 64 → 16 pointwise and a 16-channel depthwise, whose output is changed
  /// back for a Relu.
  @Test func aChainCheaperPlainStaysPlain() throws {
    var (graph, x, d) = try pointwiseThenDepthwise([1, 64, 6, 6], to: 16)
    graph.node("Sigmoid", ["d"], ["y"])
    graph.outputs = ["y"]
    let session = try InferenceSession(model: graph.model(opset: 14), blockedLayout: true)
    let steps = try #require(session.planSummary?.steps)
    #expect(steps.map(\.opType) == ["Conv", "Conv"])
    #expect(!steps.contains { $0.detail.contains("NCHW16c") })
    expectClose(try #require(try session.run(["x": x])["y"]), try map(d, sigmoid))
  }

  /// A SqueezeNet fire module after a dense 3×3 convolution and a max pooling, all blocked:
  /// the squeeze's output read by a 1×1 and a 3×3 expansion, whose outputs the Concat lays end
  /// to end (each whole blocks), pooled into the output.
  @Test func fireModuleMatchesThePlainOperators() throws {
    let x = try Tensor.random(shape: [1, 16, 9, 9], seed: 1)
    let w0 = try Tensor.random(shape: [32, 16, 3, 3], seed: 2)
    let ws = try Tensor.random(shape: [16, 32, 1, 1], seed: 3)
    let we1 = try Tensor.random(shape: [32, 16, 1, 1], seed: 4)
    let we3 = try Tensor.random(shape: [48, 16, 3, 3], seed: 5)
    var graph = GraphBuilder()
    graph.input("x", x.shape)
    for (name, tensor) in [("w0", w0), ("ws", ws), ("we1", we1), ("we3", we3)] {
      graph.constant(name, tensor)
    }
    graph.node("Conv", ["x", "w0"], ["c"], ["pads": .ints([1, 1, 1, 1])])
    graph.node("Relu", ["c"], ["c1"])
    graph.node(
      "MaxPool", ["c1"], ["p"],
      ["kernel_shape": .ints([3, 3]), "strides": .ints([2, 2]), "ceil_mode": .int(1)])
    graph.node("Conv", ["p", "ws"], ["s"])
    graph.node("Relu", ["s"], ["s1"])
    graph.node("Conv", ["s1", "we1"], ["e1"])
    graph.node("Relu", ["e1"], ["r1"])
    graph.node("Conv", ["s1", "we3"], ["e3"], ["pads": .ints([1, 1, 1, 1])])
    graph.node("Relu", ["e3"], ["r3"])
    graph.node("Concat", ["r1", "r3"], ["f"], ["axis": .int(1)])
    graph.node("GlobalAveragePool", ["f"], ["y"])
    graph.outputs = ["y"]
    let session = try InferenceSession(model: graph.model(opset: 14), blockedLayout: true)
    let steps = try #require(session.planSummary?.steps)
    // The Concat is gone: both expansions write their places in its output.
    #expect(
      steps.map(\.opType)
        == ["Reorder", "Conv", "MaxPool", "Conv", "Conv", "Conv", "GlobalAveragePool"])
    #expect(blockedSteps(steps) == 6)
    let y = try #require(try session.run(["x": x])["y"])

    let padded = ConvolutionOptions(padding: 1)
    let c = try map(try convolution(x, weight: w0, options: padded)) { max($0, 0) }
    // 9 → 4 windows of 3 with stride 2, ceil mode: the last window holds column 8 alone.
    var pooled = [Float]()
    for channel in 0..<32 {
      for oy in 0..<4 {
        for ox in 0..<4 {
          var m = -Float.greatestFiniteMagnitude
          for iy in (2 * oy)..<min(2 * oy + 3, 9) {
            for ix in (2 * ox)..<min(2 * ox + 3, 9) { m = max(m, c.scalars[(channel * 9 + iy) * 9 + ix]) }
          }
          pooled.append(m)
        }
      }
    }
    let p = try Tensor(shape: [1, 32, 4, 4], scalars: pooled)
    let s = try map(try convolution(p, weight: ws)) { max($0, 0) }
    let e1 = try map(try convolution(s, weight: we1)) { max($0, 0) }
    let e3 = try map(try convolution(s, weight: we3, options: padded)) { max($0, 0) }
    let expected = try channelMeans(try Tensor(shape: [1, 80, 4, 4], scalars: e1.scalars + e3.scalars))
    expectClose(y, expected)
  }

  /// A ReduceMean over the positions (axes 2 and 3, or -2 and -1; keepdims 0 and 1), as
  /// `x.mean([2, 3])` exports a global average pooling, reads the blocked value like one;
  /// a ReduceMean over other axes stays plain, with the layout changed before it.
  @Test(arguments: [([2, 3], 0), ([-1, -2], 1), ([1, 2, 3], 0)])
  func reduceMeanOverThePositionsRunsBlocked(_ axes: [Int], _ keepDims: Int) throws {
    var (graph, x, d) = try pointwiseThenDepthwise([1, 20, 5, 6], to: 24)
    graph.node("ReduceMean", ["d"], ["m"], ["axes": .ints(axes), "keepdims": .int(keepDims)])
    graph.outputs = ["m"]
    let session = try InferenceSession(model: graph.model(opset: 14), blockedLayout: true)
    let steps = try #require(session.planSummary?.steps)
    let positions = axes.count == 2
    #expect(
      steps.map(\.opType)
        == ["Reorder", "Conv", "Conv"] + (positions ? [] : ["Reorder"]) + ["ReduceMean"])
    #expect(steps.last?.detail == (positions ? "NCHW16c" : ""))
    let m = try #require(try session.run(["x": x])["m"])

    let means = try channelMeans(d)
    let expected =
      positions
      ? try Tensor(shape: keepDims == 1 ? [1, 24, 1, 1] : [1, 24], scalars: means.scalars)
      : try Tensor(shape: [1], scalars: [means.scalars.reduce(0, +) / 24])
    expectClose(m, expected)
  }

  /// A gate the next convolution does not take in its weights (they outnumber x's elements
  /// on a 2×3 plane): the Mul runs blocked, the gate given first.
  @Test func gateMulRunsBlocked() throws {
    let x = try Tensor.random(shape: [1, 20, 2, 3], seed: 1)
    let w1 = try Tensor.random(shape: [20, 20, 1, 1], seed: 2)
    let w2 = try Tensor.random(shape: [20, 1, 3, 3], seed: 3)
    let s = try Tensor.random(shape: [20, 20, 1, 1], seed: 4)
    let w3 = try Tensor.random(shape: [24, 20, 1, 1], seed: 5)
    var graph = GraphBuilder()
    graph.input("x", x.shape)
    for (name, tensor) in [("w1", w1), ("w2", w2), ("s", s), ("w3", w3)] {
      graph.constant(name, tensor)
    }
    graph.node("Conv", ["x", "w1"], ["a"])
    graph.node("Conv", ["a", "w2"], ["d"], ["group": .int(20), "pads": .ints([1, 1, 1, 1])])
    graph.node("GlobalAveragePool", ["d"], ["m"])
    graph.node("Conv", ["m", "s"], ["e"])
    graph.node("Sigmoid", ["e"], ["gate"])
    graph.node("Mul", ["gate", "d"], ["g"])
    graph.node("Conv", ["g", "w3"], ["y"])
    graph.outputs = ["y"]
    let session = try InferenceSession(model: graph.model(opset: 14), blockedLayout: true)
    let steps = try #require(session.planSummary?.steps)
    #expect(
      steps.map(\.opType)
        == ["Reorder", "Conv", "Conv", "GlobalAveragePool", "Conv", "Mul", "Conv", "Reorder"])
    #expect(steps.first { $0.opType == "Mul" }?.detail == "gate NCHW16c")
    let y = try #require(try session.run(["x": x])["y"])

    let a = try convolution(x, weight: w1)
    let d = try convolution(a, weight: w2, options: ConvolutionOptions(padding: 1, groups: 20))
    let m = try channelMeans(d)
    let gate = try map(try convolution(m, weight: s), sigmoid)
    let g = try gated(d, by: gate)
    expectClose(y, try convolution(g, weight: w3))
  }

  /// A stem of 3 channels reads the plain input and writes the blocked layout: no layout
  /// change before the chain.
  @Test func stemWritesTheBlockedLayout() throws {
    let x = try Tensor.random(shape: [1, 3, 10, 10], seed: 1)
    let w1 = try Tensor.random(shape: [16, 3, 3, 3], seed: 2)
    let w2 = try Tensor.random(shape: [16, 1, 3, 3], seed: 3)
    var graph = GraphBuilder()
    graph.input("x", x.shape)
    graph.constant("w1", w1)
    graph.constant("w2", w2)
    graph.node("Conv", ["x", "w1"], ["a"], ["strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])])
    graph.node("Relu", ["a"], ["a1"])
    graph.node("Conv", ["a1", "w2"], ["d"], ["group": .int(16), "pads": .ints([1, 1, 1, 1])])
    graph.node("GlobalAveragePool", ["d"], ["y"])
    graph.outputs = ["y"]
    let session = try InferenceSession(model: graph.model(opset: 14), blockedLayout: true)
    let steps = try #require(session.planSummary?.steps)
    #expect(steps.map(\.opType) == ["Conv", "Conv", "GlobalAveragePool"])
    #expect(steps.first?.detail.hasSuffix("to NCHW16c") == true)
    let a = try convolution(x, weight: w1, options: ConvolutionOptions(stride: 2, padding: 1))
    let a1 = try map(a) { max($0, 0) }
    let d = try convolution(a1, weight: w2, options: ConvolutionOptions(padding: 1, groups: 16))
    let expected = try channelMeans(d)
    expectClose(try #require(try session.run(["x": x])["y"]), expected)
  }
}

extension BlockedLayoutTests {
  /// A ResNeXt bottleneck that halves the plane: 32 → 64 (ReLU) → grouped 3×3 of 16 groups
  /// of 4, stride 2 (ReLU) → 64, plus the shortcut's strided 1×1 32 → 64, then ReLU; and a
  /// grouped 3×3 of 2 groups of 32 after it. Every convolution runs blocked.
  @Test func bottleneckWithGroupsMatchesThePlainConvolutions() throws {
    let x = try Tensor.random(shape: [1, 32, 9, 11], seed: 1)
    let w1 = try Tensor.random(shape: [64, 32, 1, 1], seed: 2)
    let w2 = try Tensor.random(shape: [64, 4, 3, 3], seed: 3)
    let b2 = try Tensor.random(shape: [64], seed: 4)
    let w3 = try Tensor.random(shape: [64, 64, 1, 1], seed: 5)
    let ws = try Tensor.random(shape: [64, 32, 1, 1], seed: 6)
    let w4 = try Tensor.random(shape: [64, 32, 3, 3], seed: 7)
    var graph = GraphBuilder()
    graph.input("x", x.shape)
    for (name, tensor) in [("w1", w1), ("w2", w2), ("b2", b2), ("w3", w3), ("ws", ws), ("w4", w4)] {
      graph.constant(name, tensor)
    }
    let padded: [String: ONNXAttributeValue] = ["pads": .ints([1, 1, 1, 1])]
    graph.node("Conv", ["x", "w1"], ["a"])
    graph.node("Relu", ["a"], ["a1"])
    graph.node(
      "Conv", ["a1", "w2", "b2"], ["g"],
      padded.merging(["group": .int(16), "strides": .ints([2, 2])]) { $1 })
    graph.node("Relu", ["g"], ["g1"])
    graph.node("Conv", ["g1", "w3"], ["p"])
    graph.node("Conv", ["x", "ws"], ["s"], ["strides": .ints([2, 2])])
    graph.node("Add", ["p", "s"], ["r"])
    graph.node("Relu", ["r"], ["r1"])
    graph.node("Conv", ["r1", "w4"], ["y"], padded.merging(["group": .int(2)]) { $1 })
    graph.outputs = ["y"]
    let session = try InferenceSession(model: graph.model(opset: 14), blockedLayout: true)
    let steps = try #require(session.planSummary?.steps)
    #expect(blockedSteps(steps) == 5, "\(steps.map(\.detail))")
    let a1 = try map(try convolution(x, weight: w1)) { max($0, 0) }
    let g1 = try map(
      try convolution(
        a1, weight: w2, bias: b2, options: ConvolutionOptions(stride: 2, padding: 1, groups: 16))
    ) { max($0, 0) }
    let p = try convolution(g1, weight: w3)
    let sc = try convolution(x, weight: ws, options: ConvolutionOptions(stride: 2))
    let r1 = try Tensor(shape: p.shape, scalars: zip(p.scalars, sc.scalars).map { max($0 + $1, 0) })
    let y = try convolution(r1, weight: w4, options: ConvolutionOptions(padding: 1, groups: 2))
    let scale = y.scalars.map(abs).max() ?? 0
    expectClose(try #require(try session.run(["x": x])["y"]), y, .float32(scale: scale))
  }

  /// A chain of one-channel values whose blocked copies (16 times as large) would pass the
  /// size a runtime value may have stays plain (a chain the layout changes would otherwise
  /// pay for): the plan is made, not run.
  @Test func paddingNeverExceedsTheValueSizeLimit() throws {
    let x = try Tensor(shape: [1, 1, 4096, 4097], scalars: [Float](repeating: 0, count: 4096 * 4097))
    var graph = GraphBuilder()
    graph.input("x", x.shape)
    graph.constant("p", try Tensor(shape: [1, 1, 1, 1], scalars: [2]))
    graph.constant("d", try Tensor(shape: [1, 1, 3, 3], scalars: [Float](repeating: 1, count: 9)))
    graph.node("Conv", ["x", "p"], ["a"])
    graph.node("Conv", ["a", "d"], ["b"], ["pads": .ints([1, 1, 1, 1])])
    graph.node("Conv", ["b", "p"], ["c"])
    graph.node("Conv", ["c", "d"], ["y"], ["pads": .ints([1, 1, 1, 1])])
    graph.outputs = ["y"]
    let steps = try #require(
      try InferenceSession(model: graph.model(opset: 14), blockedLayout: true).planSummary?.steps)
    #expect(steps.map(\.opType) == ["Conv", "Conv", "Conv", "Conv"])
    #expect(!steps.contains { $0.detail.contains("NCHW16c") })
  }
}

/// Two inverted-residual blocks on x of `shape` [1, C, H, W]: C → `expanded` (clip) →
/// depthwise 3×3 (ReLU) → C with the block's input added; C → 2C (HardSwish) → depthwise
/// 5×5 stride 2, "f". The graph without outputs, a seeded x, and f from the plain
/// convolutions.
private func invertedResidualBlocks(_ shape: [Int], expanded: Int) throws -> (
  graph: GraphBuilder, x: Tensor, f: Tensor
) {
  let c = shape[1]
  let x = try Tensor.random(shape: shape, seed: 1)
  let w1 = try Tensor.random(shape: [expanded, c, 1, 1], seed: 2)
  let b1 = try Tensor.random(shape: [expanded], seed: 3)
  let w2 = try Tensor.random(shape: [expanded, 1, 3, 3], seed: 4)
  let b2 = try Tensor.random(shape: [expanded], seed: 5)
  let w3 = try Tensor.random(shape: [c, expanded, 1, 1], seed: 6)
  let w4 = try Tensor.random(shape: [2 * c, c, 1, 1], seed: 7)
  let w5 = try Tensor.random(shape: [2 * c, 1, 5, 5], seed: 8)
  var graph = GraphBuilder()
  graph.input("x", x.shape)
  for (name, tensor) in [("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2), ("w3", w3), ("w4", w4), ("w5", w5)] {
    graph.constant(name, tensor)
  }
  graph.constant("low", try Tensor(shape: [], scalars: [0]))
  graph.constant("high", try Tensor(shape: [], scalars: [6]))
  graph.node("Conv", ["x", "w1", "b1"], ["a"])
  graph.node("Clip", ["a", "low", "high"], ["a1"])
  graph.node(
    "Conv", ["a1", "w2", "b2"], ["d"], ["group": .int(expanded), "pads": .ints([1, 1, 1, 1])])
  graph.node("Relu", ["d"], ["d1"])
  graph.node("Conv", ["d1", "w3"], ["p"])
  graph.node("Add", ["p", "x"], ["r"])
  graph.node("Conv", ["r", "w4"], ["e"])
  graph.node("HardSwish", ["e"], ["e1"])
  graph.node(
    "Conv", ["e1", "w5"], ["f"],
    ["group": .int(2 * c), "pads": .ints([2, 2, 2, 2]), "strides": .ints([2, 2])])

  let a = try map(try convolution(x, weight: w1, bias: b1)) { min(max($0, 0), 6) }
  let d = try map(
    try convolution(
      a, weight: w2, bias: b2, options: ConvolutionOptions(padding: 1, groups: expanded))
  ) { max($0, 0) }
  let p = try convolution(d, weight: w3)
  let r = try Tensor(shape: p.shape, scalars: zip(p.scalars, x.scalars).map(+))
  let e = try map(try convolution(r, weight: w4)) { $0 * min(max($0 / 6 + 0.5, 0), 1) }
  let f = try convolution(
    e, weight: w5, options: ConvolutionOptions(stride: 2, padding: 2, groups: 2 * c))
  return (graph, x, f)
}

/// x of `shape` [1, C, H, W] → a 1×1 convolution to `channels` ("a") → a depthwise 3×3
/// convolution ("d"): the graph without outputs, a seeded x, and d from the plain
/// convolutions.
private func pointwiseThenDepthwise(_ shape: [Int], to channels: Int) throws -> (
  graph: GraphBuilder, x: Tensor, d: Tensor
) {
  let x = try Tensor.random(shape: shape, seed: 1)
  let w1 = try Tensor.random(shape: [channels, shape[1], 1, 1], seed: 2)
  let w2 = try Tensor.random(shape: [channels, 1, 3, 3], seed: 3)
  var graph = GraphBuilder()
  graph.input("x", x.shape)
  graph.constant("w1", w1)
  graph.constant("w2", w2)
  graph.node("Conv", ["x", "w1"], ["a"])
  graph.node("Conv", ["a", "w2"], ["d"], ["group": .int(channels), "pads": .ints([1, 1, 1, 1])])
  let d = try convolution(
    try convolution(x, weight: w1), weight: w2,
    options: ConvolutionOptions(padding: 1, groups: channels))
  return (graph, x, d)
}

/// The mean of each channel of a [1, C, H, W] tensor, as [1, C, 1, 1]: a global average
/// pooling.
private func channelMeans(_ t: Tensor) throws -> Tensor {
  let (channels, plane) = (t.shape[1], t.shape[2] * t.shape[3])
  return try Tensor(
    shape: [1, channels, 1, 1],
    scalars: (0..<channels).map { c in
      t.scalars[(c * plane)..<((c + 1) * plane)].reduce(0, +) / Float(plane)
    })
}

/// f of every element of `t`.
private func map(_ t: Tensor, _ f: (Float) -> Float) throws -> Tensor {
  try Tensor(shape: t.shape, scalars: t.scalars.map(f))
}

private func sigmoid(_ v: Float) -> Float { 1 / (1 + exp(-v)) }

/// Every channel c of a [1, C, H, W] tensor times gate[c] (a [1, C, 1, 1] tensor).
private func gated(_ t: Tensor, by gate: Tensor) throws -> Tensor {
  let plane = t.shape[2] * t.shape[3]
  return try Tensor(
    shape: t.shape, scalars: t.scalars.indices.map { t.scalars[$0] * gate.scalars[$0 / plane] })
}

/// How many steps other than layout changes run in the blocked layout.
private func blockedSteps(_ steps: [(opType: String, detail: String, outputShape: [Int])]) -> Int {
  steps.filter { $0.opType != "Reorder" && $0.detail.hasSuffix("NCHW16c") }.count
}
