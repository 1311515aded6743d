import Foundation
import GroupConv
import TestSupport
import Testing

/// Folding into convolutions gives what the unfolded graph computes.
@Suite struct SessionFoldingTests {
  /// BatchNormalization folded into a grouped convolution and a grouped transposed one,
  /// against the convolution followed by the batch normalisation formula.
  @Test(arguments: [false, true])
  func batchNormalizationFoldsIntoGroupedConvolutions(_ transposed: Bool) throws {
    let (groups, cIn, cOut) = (2, 4, 6)
    let x = try Tensor.random(shape: [1, cIn, 5, 5], seed: 1)
    let w = try Tensor.random(
      shape: transposed ? [cIn, cOut / groups, 3, 3] : [cOut, cIn / groups, 3, 3], seed: 2)
    let b = try Tensor.random(shape: [cOut], seed: 3)
    let scale = try Tensor.random(shape: [cOut], seed: 4)
    let shift = try Tensor.random(shape: [cOut], seed: 5)
    let mean = try Tensor.random(shape: [cOut], seed: 6)
    let variance = try Tensor.random(shape: [cOut], in: 0.5...2, seed: 7)
    var graph = GraphBuilder()
    graph.input("x", x.shape)
    for (name, tensor) in [("w", w), ("b", b), ("s", scale), ("t", shift), ("m", mean), ("v", variance)] {
      graph.constant(name, tensor)
    }
    graph.node(
      transposed ? "ConvTranspose" : "Conv", ["x", "w", "b"], ["c"],
      ["group": .int(groups), "pads": .ints([1, 0, 0, 1]), "strides": .ints([2, 1])])
    graph.node("BatchNormalization", ["c", "s", "t", "m", "v"], ["y"], ["epsilon": .float(1e-3)])
    graph.node("Relu", ["y"], ["z"])
    graph.outputs = ["z"]
    let session = try InferenceSession(model: graph.model())
    #expect(session.planSummary?.steps.map(\.opType) == [transposed ? "ConvTranspose" : "Conv"])
    let z = try #require(try session.run(["x": x])["z"])

    let options = ConvolutionOptions(
      stride: [2, 1], padding: [1, 0, 0, 1], groups: groups, transposed: transposed)
    var expected = try convolution(x, weight: w, bias: b, options: options)
    let plane = expected.count / cOut
    for c in 0..<cOut {
      let factor = scale.scalars[c] / (variance.scalars[c] + 1e-3).squareRoot()
      for i in (c * plane)..<((c + 1) * plane) {
        let value = (expected.scalars[i] - mean.scalars[c]) * factor + shift.scalars[c]
        expected = try expected.replacing(i, with: max(value, 0))
      }
    }
    expectClose(z, expected)
  }

  /// A per-channel Mul and Add after a convolution (BatchNormalization as old exporters
  /// wrote it) and a Clip fold into it.
  @Test func perChannelScaleShiftAndClipFold() throws {
    let x = try Tensor.random(shape: [1, 3, 4, 4], seed: 1)
    let w = try Tensor.random(shape: [3, 1, 3, 3], seed: 2)
    let scale = try Tensor.random(shape: [3, 1, 1], seed: 3)
    let shift = try Tensor.random(shape: [1, 3, 1, 1], seed: 4)
    var graph = GraphBuilder()
    graph.input("x", x.shape)
    graph.constant("w", w)
    graph.constant("s", scale)
    graph.constant("t", shift)
    graph.constant("low", try Tensor(shape: [], scalars: [-0.25]))
    graph.constant("high", try Tensor(shape: [], scalars: [0.5]))
    graph.node("Conv", ["x", "w"], ["c"], ["group": .int(3), "auto_pad": .string("SAME_UPPER")])
    graph.node("Mul", ["c", "s"], ["m"])
    graph.node("Add", ["t", "m"], ["a"])
    graph.node("Clip", ["a", "low", "high"], ["y"])
    graph.outputs = ["y"]
    let session = try InferenceSession(model: graph.model())
    #expect(session.planSummary?.steps.map(\.opType) == ["Conv"])
    let y = try #require(try session.run(["x": x])["y"])
    let c = try convolution(x, weight: w, options: ConvolutionOptions(padding: .same, groups: 3))
    var expected = c
    for i in 0..<c.count {
      let channel = i / 16
      let value = c.scalars[i] * scale.scalars[channel] + shift.scalars[channel]
      expected = try expected.replacing(i, with: min(max(value, -0.25), 0.5))
    }
    expectClose(y, expected)
  }

  /// x · sigmoid(x) after a convolution (SiLU as ONNX spells it) folds into it.
  @Test func siluFolds() throws {
    let x = try Tensor.random(shape: [1, 4, 5, 5], seed: 1)
    let w = try Tensor.random(shape: [4, 2, 3, 3], in: -3...3, seed: 2)
    var graph = GraphBuilder()
    graph.input("x", x.shape)
    graph.constant("w", w)
    graph.node("Conv", ["x", "w"], ["c"], ["group": .int(2), "pads": .ints([1, 1, 1, 1])])
    graph.node("Sigmoid", ["c"], ["s"])
    graph.node("Mul", ["s", "c"], ["y"])
    graph.outputs = ["y"]
    let session = try InferenceSession(model: graph.model())
    #expect(session.planSummary?.steps.map(\.opType) == ["Conv"])
    let y = try #require(try session.run(["x": x])["y"])
    let c = try convolution(x, weight: w, options: ConvolutionOptions(padding: 1, groups: 2))
    let expected = try Tensor(shape: c.shape, scalars: c.scalars.map { $0 / (1 + exp(-$0)) })
    expectClose(y, expected)
  }

  /// GELU in the five nodes exporters write runs as one step.
  @Test(arguments: [false, true])
  func geluIsOneStep(_ multiplyByReciprocal: Bool) throws {
    let x = try Tensor.random(shape: [1, 3, 7], in: -4...4, seed: 1)
    var graph = GraphBuilder()
    graph.input("x", x.shape)
    graph.constant("c", try Tensor(shape: [], scalars: [multiplyByReciprocal ? 0.70710677 : 1.4142135]))
    graph.constant("one", try Tensor(shape: [], scalars: [1]))
    graph.constant("half", try Tensor(shape: [], scalars: [0.5]))
    graph.node("Relu", ["x"], ["r"])
    graph.node(multiplyByReciprocal ? "Mul" : "Div", ["r", "c"], ["d"])
    graph.node("Erf", ["d"], ["e"])
    graph.node("Add", ["one", "e"], ["a"])
    graph.node("Mul", ["r", "a"], ["m"])
    graph.node("Mul", ["half", "m"], ["y"])
    graph.outputs = ["y"]
    let session = try InferenceSession(model: graph.model())
    #expect(session.planSummary?.steps.map(\.opType) == ["Relu", "Gelu"])
    let y = try #require(try session.run(["x": x])["y"])
    let expected = try Tensor(
      shape: x.shape,
      scalars: x.scalars.map { v in
        let r = max(v, 0)
        return 0.5 * r * (1 + Float(erf(Double(r) / 2.0.squareRoot())))
      })
    expectClose(y, expected)
  }

  /// A linear layer's MatMul by a constant and bias Add run as one step, and a GELU after
  /// it in that step's epilogue: on a small product, and on one the threads share by
  /// columns (each piece's rows finished in parts).
  @Test(arguments: [([1, 3, 5, 7], 20, false), ([1, 3, 5, 7], 20, true), ([1, 12, 64], 300, true)])
  func linearLayerIsOneStep(_ shape: [Int], _ n: Int, _ gelu: Bool) throws {
    let x = try Tensor.random(shape: shape, seed: 1)
    let k = shape.last!
    let w = try Tensor.random(shape: [k, n], seed: 2)
    let b = try Tensor.random(shape: [n], seed: 3)
    var graph = GraphBuilder()
    graph.input("x", x.shape)
    graph.constant("w", w)
    graph.constant("b", b)
    graph.node("MatMul", ["x", "w"], ["m"])
    graph.node("Add", ["b", "m"], [gelu ? "l" : "y"])
    if gelu {
      graph.constant("c", try Tensor(shape: [], scalars: [1.4142135]))
      graph.constant("one", try Tensor(shape: [], scalars: [1]))
      graph.constant("half", try Tensor(shape: [], scalars: [0.5]))
      graph.node("Div", ["l", "c"], ["d"])
      graph.node("Erf", ["d"], ["e"])
      graph.node("Add", ["e", "one"], ["a"])
      graph.node("Mul", ["l", "a"], ["p"])
      graph.node("Mul", ["p", "half"], ["y"])
    }
    graph.outputs = ["y"]
    let session = try InferenceSession(model: graph.model())
    #expect(session.planSummary?.steps.map(\.opType) == [gelu ? "MatMul+Add+Gelu" : "MatMul+Add"])
    let y = try #require(try session.run(["x": x])["y"])
    let m = x.count / k
    var expected = [Float](repeating: 0, count: m * n)
    for i in 0..<m {
      for j in 0..<n {
        var sum = b.scalars[j]
        for p in 0..<k { sum += x.scalars[i * k + p] * w.scalars[p * n + j] }
        expected[i * n + j] = gelu ? 0.5 * sum * (1 + Float(erf(Double(sum) / 2.0.squareRoot()))) : sum
      }
    }
    expectClose(y, try Tensor(shape: Array(shape.dropLast()) + [n], scalars: expected))
  }

  /// ConvNeXt's block end, an NHWC → NCHW Transpose, a per-channel layer scale and a
  /// residual Add, runs as one pass (in the residual's buffer); a scale that varies along
  /// rows stays a Mul of its own. Across the 16 × 16 tile edges and a batch of two.
  @Test(arguments: [
    ([1, 5, 7, 20], [20, 1, 1], true, ["Relu", "Transpose+Mul+Add"]),
    ([2, 17, 3, 33], [1, 33, 1, 1], true, ["Relu", "Transpose+Mul+Add"]),
    ([1, 4, 4, 16], [], false, ["Relu", "Transpose+Mul"]),
    ([1, 5, 7, 20], [1, 1, 5, 1], true, ["Relu", "Transpose", "Mul", "Add"]),
  ])
  func transposeScaleAndResidualAreOneStep(
    _ shape: [Int], _ scaleShape: [Int], _ residual: Bool, _ steps: [String]
  ) throws {
    let (n, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
    let x = try Tensor.random(shape: shape, seed: 1)
    let r0 = try Tensor.random(shape: [n, c, h, w], seed: 2)
    let scale = try Tensor.random(shape: scaleShape, seed: 3)
    var graph = GraphBuilder()
    graph.input("x", x.shape)
    graph.input("r0", r0.shape)
    graph.constant("s", scale)
    graph.node("Relu", ["r0"], ["r"])
    graph.node("Transpose", ["x"], ["t"], ["perm": .ints([0, 3, 1, 2])])
    graph.node("Mul", ["s", "t"], [residual ? "m" : "y"])
    if residual { graph.node("Add", ["m", "r"], ["y"]) }
    graph.outputs = residual ? ["y"] : ["y", "r"]
    let session = try InferenceSession(model: graph.model())
    #expect(session.planSummary?.steps.map(\.opType) == steps)
    let y = try #require(try session.run(["x": x, "r0": r0])["y"])
    // The scale broadcast against [n, c, h, w].
    let aligned = Array(repeating: 1, count: 4 - scaleShape.count) + scaleShape
    var expected = [Float](repeating: 0, count: x.count)
    for b in 0..<n {
      for channel in 0..<c {
        for row in 0..<h {
          for column in 0..<w {
            let coordinates = [b, channel, row, column]
            var index = 0
            for axis in 0..<4 {
              index = index * aligned[axis] + (aligned[axis] == 1 ? 0 : coordinates[axis])
            }
            let at = ((b * c + channel) * h + row) * w + column
            expected[at] =
              x.scalars[((b * h + row) * w + column) * c + channel] * scale.scalars[index]
              + (residual ? max(r0.scalars[at], 0) : 0)
          }
        }
      }
    }
    expectClose(y, try Tensor(shape: [n, c, h, w], scalars: expected))
  }

  /// ConvNeXt's NCHW → NHWC Transpose and the LayerNormalization over the channels after
  /// it run as one pass; normalizing over more than the channels stays two steps. Across
  /// the 16-position runs and channel counts around 16, with and without a bias.
  @Test(arguments: [
    ([1, 20, 5, 7], -1, true, ["Transpose+LayerNormalization"]),
    ([2, 16, 3, 11], -1, false, ["Transpose+LayerNormalization"]),
    ([1, 33, 6, 6], 3, true, ["Transpose+LayerNormalization"]),
    ([1, 7, 4, 5], 2, true, ["Transpose", "LayerNormalization"]),
  ])
  func transposeAndLayerNormalizationAreOneStep(
    _ shape: [Int], _ axis: Int, _ withBias: Bool, _ steps: [String]
  ) throws {
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
    let x = try Tensor.random(shape: shape, in: -3...5, seed: 1)
    let normalized = axis == 2 ? [w, c] : [c]
    let scale = try Tensor.random(shape: normalized, seed: 2)
    let bias = try Tensor.random(shape: normalized, seed: 3)
    var graph = GraphBuilder()
    graph.input("x", x.shape)
    graph.constant("s", scale)
    graph.constant("b", bias)
    graph.node("Transpose", ["x"], ["t"], ["perm": .ints([0, 2, 3, 1])])
    graph.node(
      "LayerNormalization", withBias ? ["t", "s", "b"] : ["t", "s"], ["y"],
      ["axis": .int(axis), "epsilon": .float(1e-3)])
    graph.outputs = ["y"]
    let session = try InferenceSession(model: graph.model(opset: 17))
    #expect(session.planSummary?.steps.map(\.opType) == steps)
    let y = try #require(try session.run(["x": x])["y"])
    // The transpose, then each group of `inner` consecutive values normalized.
    var t = [Float](repeating: 0, count: x.count)
    for b in 0..<n {
      for channel in 0..<c {
        for p in 0..<(h * w) {
          t[(b * h * w + p) * c + channel] = x.scalars[(b * c + channel) * h * w + p]
        }
      }
    }
    let inner = normalized.reduce(1, *)
    var expected = t
    for start in stride(from: 0, to: t.count, by: inner) {
      let row = t[start..<(start + inner)].map(Double.init)
      let mean = row.reduce(0, +) / Double(inner)
      let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(inner)
      for i in 0..<inner {
        let value = (row[i] - mean) / (variance + 1e-3).squareRoot() * Double(scale.scalars[i])
        expected[start + i] = Float(value) + (withBias ? bias.scalars[i] : 0)
      }
    }
    expectClose(y, try Tensor(shape: [n, h, w, c], scalars: expected))
  }

  /// Outputs a node leaves unnamed are computed into scratch (Split's middle piece) or not
  /// at all (LayerNormalization's mean and inverse deviation, as exporters list them).
  @Test func unnamedOutputsAreSkipped() throws {
    let x = try Tensor.random(shape: [2, 6], seed: 1)
    var graph = GraphBuilder()
    graph.input("x", x.shape)
    graph.constant("s", try Tensor(shape: [2], scalars: [1, 1]))
    graph.node("Split", ["x"], ["a", "", "c"], ["axis": .int(1)])
    graph.node("LayerNormalization", ["c", "s"], ["y", "", ""])
    graph.outputs = ["a", "y"]
    let session = try InferenceSession(model: graph.model(opset: 17))
    let outputs = try session.run(["x": x])
    let a = try #require(outputs["a"])
    #expect(a.scalars == [0, 1, 6, 7].map { x.scalars[$0] })
    let y = try #require(outputs["y"])
    // Each row of c is two values: normalized, they are ±1 (less epsilon's share).
    for row in 0..<2 {
      let (u, v) = (x.scalars[row * 6 + 4], x.scalars[row * 6 + 5])
      let d = (u - v) / 2
      let expected = d / (d * d + 1e-5).squareRoot()
      #expect(abs(y.scalars[row * 2] - expected) < 1e-4 && abs(y.scalars[row * 2 + 1] + expected) < 1e-4)
    }
  }

  /// A convolution output read twice is not folded into either reader.
  @Test func anOutputReadTwiceIsNotFolded() throws {
    var graph = GraphBuilder()
    graph.input("x", [1, 2, 3, 3])
    graph.constant("w", try Tensor.random(shape: [2, 2, 1, 1], seed: 1))
    graph.node("Conv", ["x", "w"], ["c"])
    graph.node("Relu", ["c"], ["y"])
    graph.outputs = ["y", "c"]
    let session = try InferenceSession(model: graph.model())
    #expect(session.planSummary?.steps.map(\.opType) == ["Conv", "Relu"])
  }

  /// The Add of a residual folds into the convolution before it, and a ReLU after the Add
  /// with it: for a matrix-product kernel that adds as it stores (the residual a graph input
  /// or the convolution's own input, copied first; or a value whose buffer the output takes)
  /// and a depthwise one that does not. A residual made after the convolution stays a
  /// separate Add.
  @Test func residualAddFoldsIntoTheConvolution() throws {
    let x = try Tensor.random(shape: [1, 4, 6, 6], seed: 1)
    let w1 = try Tensor.random(shape: [4, 4, 1, 1], seed: 2)
    let w2 = try Tensor.random(shape: [4, 1, 3, 3], seed: 3)
    let b2 = try Tensor.random(shape: [4], seed: 4)
    var graph = GraphBuilder()
    graph.input("x", x.shape)
    graph.constant("w1", w1)
    graph.constant("w2", w2)
    graph.constant("b2", b2)
    graph.node("Conv", ["x", "w1"], ["c1"])
    graph.node("Add", ["c1", "x"], ["a"])
    graph.node("Relu", ["a"], ["d"])
    graph.node("Sigmoid", ["d"], ["p"])
    graph.node("Conv", ["d", "w2", "b2"], ["c2"], ["group": .int(4), "pads": .ints([1, 1, 1, 1])])
    graph.node("Add", ["p", "c2"], ["e"])
    graph.node("Neg", ["e"], ["q"])
    graph.node("Conv", ["e", "w1"], ["f"])
    graph.node("Add", ["f", "q"], ["h"])
    graph.node("Conv", ["h", "w1"], ["k"])
    graph.node("Sigmoid", ["h"], ["m"])
    graph.node("Add", ["k", "m"], ["n"])
    graph.node("Conv", ["h", "w1"], ["l"])
    graph.node("Add", ["l", "h"], ["o"])
    graph.outputs = ["e", "n", "o"]
    let session = try InferenceSession(model: graph.model())
    #expect(
      session.planSummary?.steps.map(\.opType)
        == ["Conv", "Sigmoid", "Conv", "Neg", "Conv", "Conv", "Sigmoid", "Add", "Conv"])
    let outputs = try session.run(["x": x])

    func add(_ a: Tensor, _ b: Tensor) throws -> Tensor {
      try Tensor(shape: a.shape, scalars: zip(a.scalars, b.scalars).map(+))
    }
    func map(_ a: Tensor, _ f: (Float) -> Float) throws -> Tensor {
      try Tensor(shape: a.shape, scalars: a.scalars.map(f))
    }
    let sigmoid: (Float) -> Float = { 1 / (1 + exp(-$0)) }
    let d = try map(try add(try convolution(x, weight: w1), x)) { max($0, 0) }
    let c2 = try convolution(
      d, weight: w2, bias: b2, options: ConvolutionOptions(padding: [1, 1, 1, 1], groups: 4))
    let e = try add(try map(d, sigmoid), c2)
    let h = try add(try convolution(e, weight: w1), try map(e) { -$0 })
    expectClose(try #require(outputs["e"]), e)
    expectClose(try #require(outputs["n"]), try add(try convolution(h, weight: w1), try map(h, sigmoid)))
    expectClose(try #require(outputs["o"]), try add(try convolution(h, weight: w1), h))
  }

  /// A squeeze-and-excitation gate, `Mul(x, s)` with s of shape [1, C, 1, 1] computed from
  /// x, folds into the convolution after it (the gate's product read there alone): a matrix
  /// product of rows or of columns, grouped, or a depthwise kernel, with a residual and a
  /// ReLU after it. A gate per image (batch 2) or a convolution with more weights than x has
  /// elements keeps its Mul.
  @Test(arguments: [
    ([1, 16, 6, 6], [8, 16, 1, 1], 1, true),  // rows
    ([1, 32, 7, 7], [32, 32, 1, 1], 1, false),  // columns
    ([1, 8, 6, 6], [8, 4, 3, 3], 2, true),  // grouped 3×3
    ([1, 8, 6, 6], [8, 1, 3, 3], 8, true),  // depthwise
    ([2, 16, 6, 6], [8, 16, 1, 1], 1, false),  // a gate per image
    ([1, 4, 3, 3], [16, 4, 1, 1], 1, false),  // more weights than x
  ])
  func squeezeExcitationGateFoldsIntoTheNextConvolution(
    _ xShape: [Int], _ wShape: [Int], _ groups: Int, _ scaleFirst: Bool
  ) throws {
    let channels = xShape[1]
    let x = try Tensor.random(shape: xShape, seed: 1)
    let w = try Tensor.random(shape: wShape, seed: 2)
    let b = try Tensor.random(shape: [wShape[0]], seed: 3)
    let fc = try Tensor.random(shape: [channels, channels, 1, 1], seed: 4)
    let residual = wShape[0] == channels
    var graph = GraphBuilder()
    graph.input("x", x.shape)
    graph.constant("w", w)
    graph.constant("b", b)
    graph.constant("fc", fc)
    graph.node("GlobalAveragePool", ["x"], ["p"])
    graph.node("Conv", ["p", "fc"], ["q"])
    graph.node("Sigmoid", ["q"], ["s"])
    graph.node("Mul", scaleFirst ? ["s", "x"] : ["x", "s"], ["m"])
    graph.node("Conv", ["m", "w", "b"], ["c"], ["group": .int(groups), "pads": .ints(wShape[2] == 3 ? [1, 1, 1, 1] : [0, 0, 0, 0])])
    if residual {
      graph.node("Add", ["c", "x"], ["a"])
      graph.node("Relu", ["a"], ["y"])
    } else {
      graph.node("Relu", ["c"], ["y"])
    }
    graph.outputs = ["y"]
    let session = try InferenceSession(model: graph.model())
    let folds = xShape[0] == 1 && w.count <= x.count
    #expect(
      session.planSummary?.steps.map(\.opType)
        == ["GlobalAveragePool", "Conv"] + (folds ? [] : ["Mul"]) + ["Conv"])
    let y = try #require(try session.run(["x": x])["y"])

    let plane = xShape[2...].reduce(1, *)
    var gates = [Float]()
    for n in 0..<xShape[0] {
      let means = (0..<channels).map { c in
        x.scalars[((n * channels + c) * plane)..<((n * channels + c + 1) * plane)].reduce(0, +)
          / Float(plane)
      }
      gates += (0..<channels).map { o in
        let sum = (0..<channels).reduce(Float(0)) { $0 + fc.scalars[o * channels + $1] * means[$1] }
        return 1 / (1 + exp(-sum))
      }
    }
    let gated = try Tensor(
      shape: xShape, scalars: x.scalars.indices.map { x.scalars[$0] * gates[$0 / plane] })
    var expected = try convolution(
      gated, weight: w, bias: b,
      options: ConvolutionOptions(padding: wShape[2] == 3 ? 1 : 0, groups: groups))
    if residual {
      expected = try Tensor(shape: expected.shape, scalars: zip(expected.scalars, x.scalars).map(+))
    }
    expectClose(y, try Tensor(shape: expected.shape, scalars: expected.scalars.map { max($0, 0) }))
  }

  /// A Concat whose inputs are made for it alone is skipped: their steps write into its
  /// output, which a Relu then overwrites in place. A Concat of a graph input, of a value
  /// read twice, or along an axis with more than one slice before it (batch 2) is kept.
  @Test(arguments: [1, 2])
  func concatInputsAreWrittenInPlace(_ batch: Int) throws {
    let x = try Tensor.random(shape: [batch, 3, 4, 4], seed: 1)
    let w = try Tensor.random(shape: [2, 3, 3, 3], seed: 2)
    var graph = GraphBuilder()
    graph.input("x", x.shape)
    graph.constant("w", w)
    graph.node("Conv", ["x", "w"], ["a"], ["pads": .ints([1, 1, 1, 1])])
    graph.node("Sigmoid", ["x"], ["b"])
    graph.node("Neg", ["x"], ["n"])
    graph.node("Concat", ["a", "b", "n"], ["c"], ["axis": .int(1)])
    graph.node("Relu", ["c"], ["d"])
    graph.node("Tanh", ["x"], ["t"])
    graph.node("Concat", ["t", "x"], ["e"], ["axis": .int(-3)])
    graph.node("Sigmoid", ["x"], ["u"])
    graph.node("Exp", ["x"], ["v"])
    graph.node("Relu", ["v"], ["r"])
    graph.node("Concat", ["u", "v"], ["f"], ["axis": .int(1)])
    graph.outputs = ["d", "e", "f", "u", "r"]
    let session = try InferenceSession(model: graph.model())
    let kept = batch == 1 ? ["Concat", "Concat"] : ["Concat", "Concat", "Concat"]
    #expect(session.planSummary?.steps.map(\.opType).filter { $0 == "Concat" } == kept)
    let outputs = try session.run(["x": x])

    let a = try convolution(x, weight: w, options: ConvolutionOptions(padding: [1, 1, 1, 1]))
    let b = x.scalars.map { 1 / (1 + exp(-$0)) }
    func join(_ parts: [[Float]], channels: [Int]) throws -> Tensor {
      var scalars = [Float]()
      for image in 0..<batch {
        for (part, count) in zip(parts, channels) {
          scalars += part[(image * count * 16)..<((image + 1) * count * 16)]
        }
      }
      return try Tensor(shape: [batch, channels.reduce(0, +), 4, 4], scalars: scalars)
    }
    let c = try join([a.scalars, b, x.scalars.map { -$0 }], channels: [2, 3, 3])
    expectClose(try #require(outputs["d"]), try Tensor(shape: c.shape, scalars: c.scalars.map { max($0, 0) }))
    expectClose(try #require(outputs["e"]), try join([x.scalars.map(tanh), x.scalars], channels: [3, 3]))
    expectClose(
      try #require(outputs["f"]), try join([b, x.scalars.map(exp)], channels: [3, 3]))
  }
}

extension Tensor {
  /// A copy with element `index` replaced.
  func replacing(_ index: Int, with value: Float) throws -> Tensor {
    var scalars = self.scalars
    scalars[index] = value
    return try Tensor(shape: shape, scalars: scalars)
  }
}
