import CKernels
import GroupConv
import Kernels
import TestSupport
import Testing

/// One weight-gradient geometry, checked against `Reference.correlateWeightGradient`.
struct WeightGradientCase: CustomStringConvertible, CustomTestStringConvertible, Sendable {
  let name: String
  /// `[N, C_in, size...]`.
  let inputShape: [Int]
  /// `[C_out, C_in / groups, k...]`; transposed: `[C_in, C_out / groups, k...]`.
  let weightShape: [Int]
  let options: ConvolutionOptions
  let seed: UInt64

  var description: String { "\(name), x \(inputShape), w \(weightShape) (seed \(seed))" }
  var testDescription: String { description }

  init(
    _ name: String, x inputShape: [Int], w weightShape: [Int],
    _ options: ConvolutionOptions = ConvolutionOptions(), seed: UInt64
  ) {
    self.name = name
    self.inputShape = inputShape
    self.weightShape = weightShape
    self.options = options
    self.seed = seed
  }

  func geometry() throws -> ConvolutionGeometry {
    try ConvolutionGeometry(
      inputShape: inputShape, weightShape: weightShape, biasShape: nil, options: options)
  }

  // Small shapes around the vector width (16) and the kernel's blocks of rows, outputs and
  // taps: debug builds run the reference slowly.
  static let all: [WeightGradientCase] = [
    // Depthwise 3x3, padding 1: widths 1, 15, 16, 17, 33 and heights 1 to 9.
    .init(
      "depthwise 3x3, 1x1 plane", x: [1, 3, 1, 1], w: [3, 1, 3, 3],
      .init(padding: 1, groups: 3), seed: 1),
    .init(
      "depthwise 3x3, width 15", x: [1, 3, 2, 15], w: [3, 1, 3, 3],
      .init(padding: 1, groups: 3), seed: 2),
    .init("depthwise 3x3, width 16", x: [1, 1, 5, 16], w: [1, 1, 3, 3], .init(padding: 1), seed: 3),
    .init(
      "depthwise 3x3, width 17, 17 channels", x: [1, 17, 9, 17], w: [17, 1, 3, 3],
      .init(padding: 1, groups: 17), seed: 4),
    .init(
      "depthwise 3x3, width 33, batch 2", x: [2, 3, 3, 33], w: [3, 1, 3, 3],
      .init(padding: 1, groups: 3), seed: 5),
    .init(
      "depthwise 3x3, 7x7 plane, batch 3", x: [3, 5, 7, 7], w: [5, 1, 3, 3],
      .init(padding: 1, groups: 5), seed: 6),
    .init(
      "depthwise 3x3, no padding, height 4", x: [1, 3, 4, 17], w: [3, 1, 3, 3],
      .init(groups: 3), seed: 7),
    // Other kernels.
    .init("depthwise 1x1", x: [2, 3, 6, 17], w: [3, 1, 1, 1], .init(groups: 3), seed: 11),
    .init(
      "depthwise 5x5, padding 2", x: [1, 3, 8, 15], w: [3, 1, 5, 5],
      .init(padding: 2, groups: 3), seed: 12),
    .init(
      "depthwise 7x7, padding 3", x: [1, 2, 9, 17], w: [2, 1, 7, 7],
      .init(padding: 3, groups: 2), seed: 13),
    .init(
      "depthwise 2x3, asymmetric padding (0, 1 | 1, 2)", x: [1, 3, 6, 16], w: [3, 1, 2, 3],
      .init(padding: [0, 1, 1, 2], groups: 3), seed: 14),
    .init(
      "depthwise 3x3, kernel wider than the input", x: [1, 2, 2, 1], w: [2, 1, 3, 3],
      .init(padding: 1, groups: 2), seed: 15),
    // Strides and dilations.
    .init(
      "depthwise 3x3, stride 2, padding 1", x: [1, 3, 9, 33], w: [3, 1, 3, 3],
      .init(stride: 2, padding: 1, groups: 3), seed: 21),
    .init(
      "depthwise 3x3, stride 2, even width 16", x: [1, 2, 8, 16], w: [2, 1, 3, 3],
      .init(stride: 2, padding: 1, groups: 2), seed: 22),
    .init(
      "depthwise 3x3, stride 3, padding 1", x: [1, 3, 9, 17], w: [3, 1, 3, 3],
      .init(stride: 3, padding: 1, groups: 3), seed: 23),
    .init(
      "depthwise 5x5, stride (1, 2), dilation 2, padding 4", x: [1, 2, 7, 17], w: [2, 1, 5, 5],
      .init(stride: [1, 2], padding: 4, dilation: 2, groups: 2), seed: 24),
    .init(
      "depthwise 3x3, dilation 2, stride 2 (one phase), padding 2",
      x: [1, 2, 9, 15], w: [2, 1, 3, 3],
      .init(stride: 2, padding: 2, dilation: 2, groups: 2), seed: 25),
    .init(
      "depthwise 7x7, stride 2, padding 3", x: [1, 2, 9, 16], w: [2, 1, 7, 7],
      .init(stride: 2, padding: 3, groups: 2), seed: 26),
    // Channel multipliers.
    .init(
      "multiplier 2, 3x3", x: [1, 3, 5, 17], w: [6, 1, 3, 3],
      .init(padding: 1, groups: 3), seed: 31),
    .init(
      "multiplier 3, 3x3, stride 2, batch 2", x: [2, 2, 7, 15], w: [6, 1, 3, 3],
      .init(stride: 2, padding: 1, groups: 2), seed: 32),
    .init("multiplier 5, 5x5", x: [1, 1, 6, 16], w: [5, 1, 5, 5], .init(padding: 2), seed: 33),
    .init(
      "multiplier 9, 2x3", x: [1, 2, 4, 17], w: [18, 1, 2, 3],
      .init(padding: [1, 0], groups: 2), seed: 34),
    // Grouped, 2 to 8 input channels per group.
    .init(
      "groups of 2, 3x3", x: [1, 4, 5, 17], w: [4, 2, 3, 3],
      .init(padding: 1, groups: 2), seed: 41),
    .init(
      "groups of 3 in, 6 out, 3x3, batch 2", x: [2, 6, 4, 15], w: [12, 3, 3, 3],
      .init(padding: 1, groups: 2), seed: 42),
    .init(
      "groups of 4, 3x3 (ResNeXt)", x: [1, 8, 6, 16], w: [8, 4, 3, 3],
      .init(padding: 1, groups: 2), seed: 43),
    .init(
      "groups of 4, 3x3, stride 2, batch 3", x: [3, 8, 7, 17], w: [8, 4, 3, 3],
      .init(stride: 2, padding: 1, groups: 2), seed: 44),
    .init(
      "groups of 8, 3x3", x: [1, 16, 4, 17], w: [16, 8, 3, 3],
      .init(padding: 1, groups: 2), seed: 45),
    .init("groups of 8 in, 3 out, 1x1", x: [1, 8, 3, 33], w: [3, 8, 1, 1], .init(), seed: 46),
    .init(
      "groups of 4, 7x7, dilation 2", x: [1, 4, 5, 15], w: [4, 4, 7, 7],
      .init(padding: 6, dilation: 2), seed: 47),
    // 1-D and 3-D.
    .init(
      "conv1d depthwise, kernel 3, width 33", x: [2, 3, 33], w: [3, 1, 3],
      .init(padding: 1, groups: 3), seed: 51),
    .init(
      "conv1d groups of 4, kernel 5, stride 2", x: [1, 8, 40], w: [8, 4, 5],
      .init(stride: 2, padding: 2, groups: 2), seed: 52),
    .init(
      "conv3d depthwise 3x3x3, padding 1", x: [1, 2, 4, 5, 17], w: [2, 1, 3, 3, 3],
      .init(padding: 1, groups: 2), seed: 53),
    .init(
      "conv3d groups of 2, stride (2, 1, 2), dilation (1, 2, 1)",
      x: [2, 4, 5, 6, 9], w: [4, 2, 3, 2, 3],
      .init(stride: [2, 1, 2], padding: [1, 2, 0], dilation: [1, 2, 1], groups: 2), seed: 54),
    // Many groups on small planes (the lane kernel's regime): full and partial blocks of 16.
    .init(
      "depthwise 3x3, 33 channels, 7x7 plane, batch 2", x: [2, 33, 7, 7], w: [33, 1, 3, 3],
      .init(padding: 1, groups: 33), seed: 71),
    .init(
      "depthwise 5x5, 16 channels, stride 2, width 15", x: [1, 16, 5, 15], w: [16, 1, 5, 5],
      .init(stride: 2, padding: 2, groups: 16), seed: 72),
    .init(
      "multiplier 2, 17 groups, 3x3, dilation 2", x: [1, 17, 6, 6], w: [34, 1, 3, 3],
      .init(padding: 2, dilation: 2, groups: 17), seed: 73),
    .init(
      "groups of 4, 16 groups, 3x3, 4x4 plane", x: [1, 64, 4, 4], w: [64, 4, 3, 3],
      .init(padding: 1, groups: 16), seed: 74),
    .init(
      "conv3d depthwise 3x3x3, 18 channels, stride 2", x: [1, 18, 3, 4, 5], w: [18, 1, 3, 3, 3],
      .init(stride: 2, padding: 1, groups: 18), seed: 75),
    // Sums of 6272 terms per weight, as in real layers: the tolerance's reason.
    .init(
      "depthwise 3x3, 56x56 planes, 16 channels, batch 2", x: [2, 16, 56, 56],
      w: [16, 1, 3, 3], .init(padding: 1, groups: 16), seed: 81),
    // A transposed convolution's weight gradient is the same correlation, roles swapped.
    .init(
      "conv_transpose2d depthwise, stride 2, output padding 1", x: [1, 3, 4, 7], w: [3, 1, 3, 3],
      .init(stride: 2, padding: 1, groups: 3, transposed: true, outputPadding: 1), seed: 61),
  ]
}

/// The weight- and bias-gradient kernels against the reference loops. Serialized: the tests
/// switch the instruction set and the thread count, which are process-wide.
extension KernelSettingsSuites {
  @Suite(.serialized) struct WeightGradientKernelTests {
    /// What the float kernels may differ from the `Double` reference by: sums over thousands of
    /// pixels lose more than one float32 operation.
    static let tolerance = Tolerance(absolute: 1e-4, relative: 1e-3)

    /// The kernel's dw and db (the sum of dy per channel, from the same pass) into buffers
    /// first filled with NaN: every element must be written.
    static func gradients(
      _ kernel: some WeightGradientKernel, _ g: ConvolutionGeometry, dy: [Float], x: [Float]
    ) -> (dw: [Float], db: [Float]) {
      var dw = [Float](repeating: .nan, count: g.weightShape.reduce(1, *))
      var db = [Float](repeating: .nan, count: g.yChannels)
      dy.withUnsafeBufferPointer { dy in
        x.withUnsafeBufferPointer { x in
          dw.withUnsafeMutableBufferPointer { dw in
            db.withUnsafeMutableBufferPointer { db in
              kernel.weightGradient(
                dy: dy.baseAddress!, x: x.baseAddress!, dw: dw.baseAddress!,
                biasGradient: db.baseAddress!)
            }
          }
        }
      }
      return (dw, db)
    }

    @Test(arguments: WeightGradientCase.all)
    func matchesReference(_ c: WeightGradientCase) throws {
      let g = try c.geometry()
      #expect(WeightGradientKernels.make(for: g) != nil, "\(c): no fast kernel")
      // Both kernels whatever the plane size and group count: the staged one with its
      // defaults, then with blocks of as few rows as it takes and a thread per item; the lane
      // one likewise, with bands of one row (3-D planes stay whole).
      try Self.expectMatchesReference(c, [
        ("staged", DirectWeightGradient(g)),
        ("staged, small blocks, threaded", DirectWeightGradient(g, blockBytes: 1, workPerThread: 1)),
        ("lanes", LaneWeightGradient(g)),
        ("lanes, threaded", LaneWeightGradient(g, workPerThread: 1)),
        ("lanes, one-row bands", LaneWeightGradient(g, bandBytes: 1, workPerThread: 1)),
      ])
    }

    /// Each kernel's dw and db, with and without db, against the reference, with each
    /// instruction set and 1 and 2 threads.
    static func expectMatchesReference(
      _ c: WeightGradientCase, _ kernels: [(String, (any WeightGradientKernel)?)]
    ) throws {
      let g = try c.geometry()
      let x = try Tensor.random(shape: g.xShape, seed: c.seed).scalars
      let dy = try Tensor.random(shape: g.yShape, seed: c.seed &+ 1).scalars
      let expected = Tensor(
        validShape: g.weightShape, scalars: Reference.correlateWeightGradient(dy: dy, x: x, g))
      let expectedBias = Tensor(
        validShape: [g.yChannels],
        scalars: Reference.biasGradient(dy, channels: g.yChannels, plane: g.ySize.reduce(1, *)))
      try forEachKernelConfiguration { configuration in
        for (name, kernel) in kernels {
          let kernel = try #require(kernel, "\(c): \(name)")
          let context = "\(c), \(configuration), \(name)"
          let (dw, db) = Self.gradients(kernel, g, dy: dy, x: x)
          expectClose(
            Tensor(validShape: g.weightShape, scalars: dw), expected, Self.tolerance, context)
          expectClose(
            Tensor(validShape: [g.yChannels], scalars: db), expectedBias, Self.tolerance,
            "\(context): fused bias gradient")
          // Without the bias gradient, the same weight gradient.
          var alone = [Float](repeating: .nan, count: dw.count)
          dy.withUnsafeBufferPointer { dy in
            x.withUnsafeBufferPointer { x in
              alone.withUnsafeMutableBufferPointer { w in
                kernel.weightGradient(dy: dy.baseAddress!, x: x.baseAddress!, dw: w.baseAddress!)
              }
            }
          }
          // Equal up to rounding: suites elsewhere may change the thread count between the
          // two calls, and the split of the sums with it.
          expectClose(
            Tensor(validShape: g.weightShape, scalars: alone),
            Tensor(validShape: g.weightShape, scalars: dw), Self.tolerance,
            "\(context): without the bias gradient")
        }
      }
    }

    @Test func repeatedCallsGiveTheSameResult() throws {
      // Later calls reuse pooled scratch, whose stale contents must not leak in; with two
      // threads, which thread takes which item varies, and the sums must not.
      let g = try WeightGradientCase.all[3].geometry()
      let x = try Tensor.random(shape: g.xShape, seed: 7).scalars
      let dy = try Tensor.random(shape: g.yShape, seed: 8).scalars
      let kernels: [(String, (any WeightGradientKernel)?)] = [
        ("staged", DirectWeightGradient(g, blockBytes: 1, workPerThread: 1)),
        ("lanes", LaneWeightGradient(g, workPerThread: 1)),
        ("lanes, one-row bands", LaneWeightGradient(g, bandBytes: 1, workPerThread: 1)),
      ]
      lockKernelSettings()
      let threads = Threads.count
      defer {
        Threads.count = threads
        unlockKernelSettings()
      }
      for (name, kernel) in kernels {
        let kernel = try #require(kernel, "\(name)")
        for count in [1, 2] {
          Threads.count = count
          let first = Self.gradients(kernel, g, dy: dy, x: x)
          for _ in 0..<3 {
            let again = Self.gradients(kernel, g, dy: dy, x: x)
            #expect(again.dw == first.dw && again.db == first.db, "\(name), \(count) threads")
          }
        }
      }
    }

    @Test func manyGroupsTakeTheLaneKernel() throws {
      func kernel(_ x: [Int], _ w: [Int], groups: Int) throws -> (any WeightGradientKernel)? {
        WeightGradientKernels.make(
          for: try ConvolutionGeometry(
            inputShape: x, weightShape: w, biasShape: nil,
            options: ConvolutionOptions(padding: 1, groups: groups)))
      }
      #expect(try kernel([1, 32, 7, 7], [32, 1, 3, 3], groups: 32) is LaneWeightGradient)
      #expect(try kernel([1, 128, 56, 56], [128, 4, 3, 3], groups: 32) is LaneWeightGradient)
      #expect(try kernel([1, 8, 56, 56], [8, 1, 3, 3], groups: 8) is DirectWeightGradient)
      // 3-D planes stay whole in the lane kernel; too large ones take the staged kernel.
      #expect(try kernel([1, 16, 64, 64, 64], [16, 1, 3, 3, 3], groups: 16) is DirectWeightGradient)
    }

    @Test func manyChannelsPerGroupTakeTheMatrixProduct() throws {
      func kernel(_ x: [Int], _ w: [Int], groups: Int) throws -> (any WeightGradientKernel)? {
        WeightGradientKernels.make(
          for: try ConvolutionGeometry(
            inputShape: x, weightShape: w, biasShape: nil,
            options: ConvolutionOptions(groups: groups)))
      }
      #expect(try kernel([1, 32, 5, 5], [32, 16, 3, 3], groups: 2) is GemmWeightGradient)
      #expect(try kernel([1, 9, 5, 5], [4, 9, 1, 1], groups: 1) is GemmWeightGradient)
      #expect(try kernel([1, 512, 7, 7], [512, 32, 3, 3], groups: 16) is GemmWeightGradient)
    }

    /// [batch, channels, plane]; the last is past the threading threshold (2^18 floats).
    @Test(arguments: [
      [1, 1, 1], [1, 3, 15], [2, 3, 16], [3, 17, 17], [1, 5, 64 + 33], [2, 4, 1000], [2, 3, 45_000],
    ])
    func biasGradientMatchesReference(shape: [Int]) throws {
      let (batch, channels, plane) = (shape[0], shape[1], shape[2])
      let dy = try Tensor.random(shape: [batch, channels, plane], seed: UInt64(plane)).scalars
      let expected = Tensor(
        validShape: [channels], scalars: Reference.biasGradient(dy, channels: channels, plane: plane))
      forEachKernelConfiguration { configuration in
        var db = [Float](repeating: .nan, count: channels)
        dy.withUnsafeBufferPointer { dy in
          db.withUnsafeMutableBufferPointer { db in
            BiasGradient.compute(
              dy: dy.baseAddress!, batch: batch, channels: channels, plane: plane,
              into: db.baseAddress!)
          }
        }
        expectClose(
          Tensor(validShape: [channels], scalars: db), expected, Self.tolerance,
          "bias gradient of [\(batch), \(channels), \(plane)], \(configuration)")
      }
    }
  }
}
