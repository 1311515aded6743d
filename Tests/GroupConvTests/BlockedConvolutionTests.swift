import CKernels
import Kernels
import Tensors
import TestSupport
import Testing

/// The channel-blocked kernels against the reference loops, through the layout changes:
/// channel counts below, at and past a block (and past a 64-channel panel), position counts
/// that leave every remainder of the 7-position pointwise tile, K over several slices, and depthwise filters of
/// widths 3, 5, 7 with strides 1 and 2 (the fixed tiles, on rows narrower and wider than a
/// tile, crossing both edges) and of other widths, strides and dilations (the general
/// column loop), grouped ones of 2, 4, 8, 16 and 32 channels a group (lanes permuted within
/// a block, or whole blocks), and dense convolutions of several kernels, strides, dilations
/// and uneven paddings (tiles of up to 7 positions, 6 with AVX2, reading the input in place
/// or its rows staged); plain, and adding to a residual with a clamp and SiLU; for both
/// instruction sets and 1 and 2 threads. The output starts as NaN, so an element the kernel
/// fails to write fails the comparison.
extension KernelSettingsSuites {
  @Suite(.serialized) struct BlockedConvolutionTests {
    typealias Case = GemmKernelTests.Case

    static let pointwise: [Case] = [
      Case([1, 3, 1, 1], [5, 3, 1, 1]),  // 1 position, 1 block each side
      Case([1, 16, 2, 3], [16, 16, 1, 1], bias: false),  // 6 positions: one whole tile
      Case([2, 37, 5, 7], [70, 37, 1, 1]),  // 35 positions; 3 input blocks, 2 panels
      Case([1, 20, 4, 4], [130, 20, 1, 1]),  // 3 panels, the last of 1 block
      Case([1, 64, 3, 5], [7, 64, 1, 1]),  // 15 positions, 4 whole input blocks
      Case([1, 24, 2, 5], [40, 24, 1, 1], bias: false),  // 10 positions
      Case([1, 40, 1, 11], [17, 40, 1, 1]),  // 11 positions
      Case([1, 8, 3, 4], [33, 8, 1, 1]),  // 12 positions
      Case([1, 150, 2, 7], [20, 150, 1, 1]),  // 14 positions; 10 input blocks: 2 K slices
      // 9 input blocks, the second K slice only the last, 8 of whose lanes are channels.
      Case([1, 136, 2, 3], [20, 136, 1, 1]),
      // 25 positions over 9 panels (the last of 1 block): threads share the panels, each
      // call's tiles evened out (7, 6, 6, 6).
      Case([1, 20, 5, 5], [520, 20, 1, 1]),
      Case([1, 33, 3, 9], [17, 33, 1, 1]),  // 27 positions in 2 ranges: tiles of 7 and 6
      // Panels of 4 blocks, in tiles of at most 6: 18 positions (3 tiles of 6; 2 threads:
      // ranges of 9, tiles of 5 and 4), and 4 (tiles of 4, or 2 and 2).
      Case([1, 16, 2, 9], [64, 16, 1, 1]),
      Case([1, 24, 1, 4], [64, 24, 1, 1], bias: false),
      // 15 positions, 2 panels, 17 input blocks: 2 threads share K (8 blocks and 9 in 2
      // slices), the second part's sums added to the first's.
      Case([1, 260, 3, 5], [70, 260, 1, 1]),
      // Strided (downsampling) 1×1s: the positions read, copied side by side.
      Case([1, 32, 8, 8], [48, 32, 1, 1], .init(stride: 2)),
      Case([2, 40, 9, 11], [70, 40, 1, 1], .init(stride: 2)),  // odd sides: 5 × 6
      Case([1, 17, 7, 10], [9, 17, 1, 1], bias: false, .init(stride: [1, 3])),
    ]

    static let depthwise: [Case] = [
      Case([1, 37, 7, 7], [37, 1, 3, 3], .init(padding: 1, groups: 37)),
      Case([1, 16, 3, 20], [16, 1, 3, 3], bias: false, .init(padding: 1, groups: 16)),
      Case([1, 20, 9, 9], [20, 1, 3, 3], .init(stride: 2, padding: 1, groups: 20)),
      Case([1, 18, 12, 11], [18, 1, 5, 5], .init(stride: 2, padding: 2, groups: 18)),
      Case([2, 5, 10, 19], [5, 1, 5, 5], .init(padding: 2, groups: 5)),
      Case([1, 16, 9, 22], [16, 1, 7, 7], .init(padding: 3, groups: 16)),
      Case([1, 17, 15, 15], [17, 1, 7, 7], .init(stride: 2, padding: 3, groups: 17)),
      Case([1, 17, 9, 9], [17, 1, 3, 3], .init(padding: 2, dilation: 2, groups: 17)),
      Case([1, 6, 8, 10], [6, 1, 4, 4], .init(padding: [1, 2, 2, 1], groups: 6)),
      Case([1, 9, 10, 10], [9, 1, 3, 3], .init(stride: 3, groups: 9)),
      Case([1, 16, 6, 5], [16, 1, 3, 1], .init(padding: [1, 0, 2, 0], groups: 16)),
      Case([1, 8, 2, 2], [8, 1, 3, 3], .init(padding: 1, groups: 8)),  // window past both edges
    ]

    /// Groups of 2, 4 and 8 channels (lanes of a block; 104 channels leave half a block),
    /// 16 and 32 (whole blocks), strides 1 and 2, and widths the fixed tiles do not take.
    static let grouped: [Case] = [
      Case([1, 32, 7, 9], [32, 2, 3, 3], .init(padding: 1, groups: 16)),
      Case([1, 20, 9, 10], [20, 4, 3, 3], .init(stride: 2, padding: 1, groups: 5)),
      Case([1, 104, 5, 11], [104, 8, 3, 3], bias: false, .init(padding: 1, groups: 13)),
      Case([1, 24, 9, 9], [24, 8, 3, 3], .init(stride: 2, padding: 1, groups: 3)),
      Case([2, 32, 6, 10], [32, 16, 3, 3], .init(padding: 1, groups: 2)),
      Case([1, 64, 9, 8], [64, 32, 3, 3], .init(stride: 2, padding: 1, groups: 2)),
      Case([1, 16, 6, 7], [16, 4, 5, 5], .init(padding: 2, groups: 4)),
      Case([1, 16, 8, 8], [16, 8, 3, 3], .init(padding: 2, dilation: 2, groups: 2)),
      Case([1, 32, 5, 6], [32, 16, 1, 3], .init(padding: [0, 1, 0, 1], groups: 2)),
    ]

    static let dense: [Case] = [
      // 2 panels; tiles of 7 and 6 (AVX-512), or of 5, 4 and 4 a block at a time (AVX2).
      Case([1, 20, 9, 13], [70, 20, 3, 3], .init(padding: 1)),
      Case([1, 16, 11, 9], [24, 16, 3, 3], bias: false, .init(stride: 2, padding: 1)),
      Case([2, 5, 10, 12], [9, 5, 5, 5], .init(padding: [1, 2, 0, 3], dilation: 2)),
      Case([1, 3, 5, 17], [20, 3, 2, 3], .init(stride: [1, 2])),
      Case([1, 17, 4, 3], [5, 17, 3, 3], .init(padding: 2)),  // windows past both edges
    ]

    @Test(arguments: pointwise + depthwise + grouped + dense)
    func matchesReference(_ c: Case) throws {
      let (geometry, x, w, b, expected) = try c.problem()
      let bias = c.bias ? b.scalars : [Float](repeating: 0, count: geometry.yChannels)
      let r = try Tensor.random(shape: geometry.yShape, seed: 4).scalars
      let bounds: [Float] = [-1, 1.5]
      let fused = zip(expected, r).map {
        Activation.silu.value(min(max($0 + $1, bounds[0]), bounds[1]))
      }
      forEachKernelConfiguration { configuration in
        let kernel = w.withUnsafeBufferPointer { w in
          bias.withUnsafeBufferPointer { b in
            BlockedConvolution(geometry, weight: w, bias: b, parallelMultiplyAdds: 0)
          }
        }
        guard let kernel else {
          Issue.record("no kernel for \(c.testDescription)")
          return
        }
        let xBlocked = Self.blocked(x.scalars, shape: geometry.xShape)
        for adding in [false, true] {
          var y =
            adding
            ? Self.blocked(r, shape: geometry.yShape)
            : [Float](repeating: .nan, count: BlockedLayout.count(geometry.yShape))
          xBlocked.withUnsafeBufferPointer { x in
            bounds.withUnsafeBufferPointer { clamp in
              y.withUnsafeMutableBufferPointer { y in
                kernel.forward(
                  x: x.baseAddress!, y: y.baseAddress!, clamp: adding ? clamp.baseAddress! : nil,
                  activation: adding ? Activation.silu.vectorizedKind : nil, adding: adding)
              }
            }
          }
          expectClose(
            try! Tensor(shape: geometry.yShape, scalars: Self.plain(y, shape: geometry.yShape)),
            try! Tensor(shape: geometry.yShape, scalars: adding ? fused : expected), .float32,
            "\(c.testDescription) adding \(adding), \(configuration)")
          let finite = y.allSatisfy { $0.isFinite }
          #expect(finite, "padding lanes: \(c.testDescription), \(configuration)")
        }
      }
    }

    /// The layout change both ways, for both instruction sets and thread counts: channels
    /// land in their lanes, the padding lanes are zero, and the way back restores x.
    @Test(arguments: [[1, 1, 1, 1], [2, 37, 5, 3], [1, 40, 30, 31], [1, 3, 300]])
    func layoutChangesRoundTrip(_ shape: [Int]) throws {
      let x = try Tensor.random(shape: shape, seed: 9).scalars
      let (channels, positions) = (shape[1], shape.dropFirst(2).reduce(1, *))
      let blocks = BlockedLayout.blocks(channels)
      forEachKernelConfiguration { configuration in
        let blocked = Self.blocked(x, shape: shape)
        var expected = [Float](repeating: 0, count: blocked.count)
        for n in 0..<shape[0] {
          for c in 0..<channels {
            for p in 0..<positions {
              let (block, lane) = c.quotientAndRemainder(dividingBy: 16)
              expected[((n * blocks + block) * positions + p) * 16 + lane] =
                x[(n * channels + c) * positions + p]
            }
          }
        }
        #expect(blocked == expected, "\(shape), \(configuration)")
        #expect(Self.plain(blocked, shape: shape) == x, "\(shape), \(configuration)")
      }
    }

    /// Dense convolutions of plain tensors through the blocked layout (the AVX2 build's
    /// dense kernel): the layout changes both ways around the tiles, a bias given per call
    /// (or none), and adding to a residual in y with a clamp and SiLU. Rows of 56 (tiles of
    /// 6 and 5 with AVX2, 7 with AVX-512), 13 and 4 columns; channels past a panel and in
    /// part of a block; a batch of 2; stride 2, dilation and uneven padding; and groups.
    static let planarDense: [Case] = [
      Case([1, 16, 3, 56], [16, 16, 3, 3], .init(padding: 1)),
      Case([2, 20, 9, 13], [70, 20, 3, 3], .init(padding: 1)),
      Case([1, 33, 11, 9], [24, 33, 3, 3], bias: false, .init(stride: 2, padding: 1)),
      Case([1, 17, 10, 12], [18, 17, 5, 5], .init(padding: [1, 2, 0, 3], dilation: 2)),
      Case([1, 40, 4, 4], [130, 40, 2, 2], .init(stride: 2)),
      // Groups of whole blocks, each a dense convolution of its own blocks: 2 groups of
      // 32 → 16, 2 of 16 → 16 on rows of 20 (the middle tiles read the blocked input in
      // place), a batch of 2 with 3 groups of 16 (a 1×1), and 2 groups of 80 → 80 (each
      // group 2 panels, the second of 1 block). These go a group of an image a piece;
      // 3 groups of one image on 2 threads go in bands of rows (`bands`), as do the dense
      // layers of one image above.
      Case([1, 64, 7, 9], [32, 32, 3, 3], .init(padding: 1, groups: 2)),
      Case([1, 32, 6, 20], [32, 16, 3, 3], .init(padding: 1, groups: 2)),
      Case([2, 48, 5, 6], [48, 16, 1, 1], bias: false, .init(groups: 3)),
      Case([1, 160, 6, 7], [160, 80, 3, 3], .init(stride: 2, padding: 1, groups: 2)),
      Case([1, 48, 6, 10], [96, 16, 3, 3], .init(padding: 1, groups: 3)),
    ]

    /// How the work is cut: a group of an image a piece when the threads' shares come out
    /// even or at least 4 each; else bands of rows, about 4 pieces a thread, at most one
    /// row a band.
    @Test func denseWorkGoesInEvenPieces() {
      let bands = BlockedDenseConvolution.bands
      #expect(bands(1, 8, 2, 28) == 1 && bands(1, 2, 2, 28) == 1 && bands(8, 1, 2, 56) == 1)
      #expect(bands(1, 3, 1, 28) == 1 && bands(3, 3, 2, 28) == 1)
      #expect(bands(1, 1, 2, 56) == 8 && bands(1, 3, 2, 28) == 3 && bands(1, 5, 2, 7) == 2)
      #expect(bands(1, 1, 2, 3) == 3)
    }

    @Test(arguments: planarDense)
    func planarDenseMatchesReference(_ c: Case) throws {
      try expectFusingKernelMatchesReference(c) {
        BlockedDenseConvolution($0, weight: $1, parallelMultiplyAdds: 0)
      }
    }

    static let stems: [Case] = [
      Case([1, 3, 15, 15], [32, 3, 3, 3], .init(stride: 2, padding: 1)),
      Case([2, 3, 12, 9], [20, 3, 7, 7], bias: false, .init(stride: 2, padding: 3)),
      Case([1, 5, 8, 30], [70, 5, 3, 3], .init(padding: 2, dilation: 2)),
      Case([1, 1, 8, 32], [16, 1, 4, 4], .init(stride: 4)),  // every tile read in place
    ]

    /// A convolution of few input channels from a plain x into a blocked y (a network's
    /// stem): tiles read in place inside the input, and staged across its edges.
    @Test(arguments: stems)
    func plainInputMatchesReference(_ c: Case) throws {
      let (geometry, x, w, b, expected) = try c.problem()
      let bias = c.bias ? b.scalars : [Float](repeating: 0, count: geometry.yChannels)
      forEachKernelConfiguration { configuration in
        let kernel = w.withUnsafeBufferPointer { w in
          bias.withUnsafeBufferPointer { b in
            BlockedConvolution(geometry, weight: w, bias: b, planes: true, parallelMultiplyAdds: 0)
          }
        }
        guard let kernel else {
          Issue.record("no kernel for \(c.testDescription)")
          return
        }
        var y = [Float](repeating: .nan, count: BlockedLayout.count(geometry.yShape))
        x.withUnsafeBufferPointer { x in
          y.withUnsafeMutableBufferPointer { y in
            kernel.forward(
              x: x.baseAddress!, y: y.baseAddress!, clamp: nil, activation: nil, adding: false)
          }
        }
        expectClose(
          try! Tensor(shape: geometry.yShape, scalars: Self.plain(y, shape: geometry.yShape)),
          try! Tensor(shape: geometry.yShape, scalars: expected), .float32,
          "\(c.testDescription), \(configuration)")
      }
    }

    /// A pointwise convolution of x · gate, the gate folded into the weights for the call:
    /// 37 input channels (a partial last block, whose padding rows must stay zero) and 70
    /// outputs; and a global average pooling of the blocked layout, per channel.
    @Test func gatedPointwiseAndMeanMatchThePlainLoops() throws {
      let c = Case([2, 37, 9, 11], [70, 37, 1, 1])
      let (geometry, x, w, b, _) = try c.problem()
      let gate = try Tensor.random(shape: [37], seed: 5).scalars
      let plane = 99
      let gated = x.scalars.indices.map { x.scalars[$0] * gate[$0 / plane % 37] }
      var expected = Reference.correlate(x: gated, w: w.scalars, geometry)
      Reference.addBias(b.scalars, to: &expected, channels: 70, plane: plane)
      var means = [Float](repeating: 0, count: 2 * 37)
      for i in x.scalars.indices { means[i / plane] += x.scalars[i] / Float(plane) }
      forEachKernelConfiguration { configuration in
        let kernel = try! #require(
          w.withUnsafeBufferPointer { w in
            b.withUnsafeBufferPointer { b in
              BlockedConvolution(geometry, weight: w, bias: b, parallelMultiplyAdds: 0)
            }
          })
        let scaled = AlignedBuffer(count: kernel.weightCount)
        let xBlocked = Self.blocked(x.scalars, shape: geometry.xShape)
        var y = [Float](repeating: .nan, count: BlockedLayout.count(geometry.yShape))
        var mean = [Float](repeating: .nan, count: 2 * 37)
        xBlocked.withUnsafeBufferPointer { x in
          gate.withUnsafeBufferPointer { gate in
            kernel.scaleWeights(by: gate.baseAddress!, into: scaled.pointer)
          }
          y.withUnsafeMutableBufferPointer { y in
            kernel.forward(
              x: x.baseAddress!, y: y.baseAddress!, clamp: nil, activation: nil, adding: false,
              weights: UnsafePointer(scaled.pointer))
          }
          mean.withUnsafeMutableBufferPointer { mean in
            BlockedLayout.mean(x.baseAddress!, into: mean.baseAddress!, shape: geometry.xShape)
          }
        }
        expectClose(
          try! Tensor(shape: geometry.yShape, scalars: Self.plain(y, shape: geometry.yShape)),
          try! Tensor(shape: geometry.yShape, scalars: expected), .float32, "gated, \(configuration)")
        expectClose(
          try! Tensor(shape: [2, 37], scalars: mean), try! Tensor(shape: [2, 37], scalars: means),
          .float32, "mean, \(configuration)")
      }
    }

    /// The global average pooling of the blocked layout, shared by threads by blocks (many of
    /// them) and by ranges of positions (few blocks; fewer positions than ranges; a batch).
    @Test(arguments: [[2, 20, 40, 41], [1, 150, 15, 15], [700, 20, 1, 3]])
    func meanMatchesThePlainSums(_ shape: [Int]) throws {
      let x = try Tensor.random(shape: shape, seed: 3)
      let (channels, plane) = (shape[1], shape[2] * shape[3])
      var expected = [Float](repeating: 0, count: shape[0] * channels)
      for i in x.scalars.indices { expected[i / plane] += x.scalars[i] }
      expected = expected.map { $0 / Float(plane) }
      let blocked = Self.blocked(x.scalars, shape: shape)
      forEachKernelConfiguration { configuration in
        var mean = [Float](repeating: .nan, count: expected.count)
        blocked.withUnsafeBufferPointer { x in
          mean.withUnsafeMutableBufferPointer { mean in
            BlockedLayout.mean(x.baseAddress!, into: mean.baseAddress!, shape: shape)
          }
        }
        expectClose(
          try! Tensor(shape: [shape[0], channels], scalars: mean),
          try! Tensor(shape: [shape[0], channels], scalars: expected), .float32,
          "\(shape), \(configuration)")
      }
    }

    /// Max pooling of the blocked layout against the plain pooling kernel, through the layout
    /// changes: a window past the padded edge (ceil mode), dilation, and a plane large
    /// enough to be shared by threads.
    @Test(arguments: [
      ([1, 20, 9, 9], [3, 3], [2, 2], [1, 1], [1, 1, 1, 1], [5, 5]),
      ([1, 16, 10, 11], [3, 3], [2, 2], [1, 1], [0, 0, 0, 0], [5, 5]),  // ceil: 5 of 4.5
      ([2, 7, 8, 8], [2, 3], [1, 2], [2, 1], [0, 1, 0, 1], [6, 4]),
      ([1, 64, 40, 40], [3, 3], [2, 2], [1, 1], [0, 0, 0, 0], [19, 19]),
    ])
    func maxPoolingMatchesThePlainKernel(
      _ shape: [Int], _ kernel: [Int], _ stride: [Int], _ dilation: [Int], _ pads: [Int],
      _ output: [Int]
    ) throws {
      let x = try Tensor.random(shape: shape, seed: 3).scalars
      let geometry = PoolGeometry(
        planes: shape[0] * shape[1], input: Array(shape[2...]), output: output, kernel: kernel,
        stride: stride, dilation: dilation, padBegin: Array(pads[..<2]), padEnd: Array(pads[2...]))
      let outShape = Array(shape[..<2]) + output
      var expected = [Float](repeating: .nan, count: outShape.reduce(1, *))
      x.withUnsafeBufferPointer { x in
        expected.withUnsafeMutableBufferPointer { y in Pooling(.max, geometry).run(x, into: y) }
      }
      forEachKernelConfiguration { configuration in
        let xBlocked = Self.blocked(x, shape: shape)
        var y = [Float](repeating: .nan, count: BlockedLayout.count(outShape))
        xBlocked.withUnsafeBufferPointer { x in
          y.withUnsafeMutableBufferPointer { y in
            BlockedLayout.maxPool(
              x.baseAddress!, into: y.baseAddress!, geometry,
              blocks: shape[0] * BlockedLayout.blocks(shape[1]))
          }
        }
        #expect(Self.plain(y, shape: outShape) == expected, "\(shape), \(configuration)")
      }
    }

    /// The parts a thread's range is cut into cover it once, in order, part i within one
    /// of its share count · (parts − i) / (1 + … + parts).
    @Test(arguments: [(1, 5), (2, 0), (4, 3), (4, 98), (4, 1568), (3, 14), (8, 7)])
    func shrinkingPartsCoverTheRangeAndShrink(parts: Int, count: Int) {
      let pieces = (0..<parts).map { BlockedLayout.shrinkingPart($0, of: parts, count: count) }
      #expect(pieces.first?.lowerBound == 0)
      #expect(pieces.last?.upperBound == count)
      for (a, b) in zip(pieces, pieces.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
      let total = Double(parts * (parts + 1) / 2)
      for (i, piece) in pieces.enumerated() {
        #expect(abs(Double(piece.count) - Double(count * (parts - i)) / total) < 1)
      }
    }

    /// The kinds the blocked kernels take, in 2-D: pointwise (1×1 of any stride) without
    /// padding, groups of 1 (depthwise), 2, 4, 8 or 16 · m channels each side, and any other
    /// dense convolution; not other groups, nor a multiplier.
    @Test func takesPointwiseGroupedAndDense() throws {
      func kind(_ input: [Int], _ weight: [Int], _ options: ConvolutionOptions = .init())
        -> BlockedConvolution.Kind?
      {
        let geometry = try! ConvolutionGeometry(
          inputShape: input, weightShape: weight, biasShape: nil, options: options)
        return BlockedConvolution.kind(of: geometry)
      }
      #expect(kind([1, 8, 5, 5], [4, 8, 1, 1]) == .pointwise)
      #expect(
        kind([1, 8, 5, 5], [8, 1, 3, 3], .init(padding: 1, groups: 8)) == .grouped(width: 1))
      #expect(kind([1, 8, 5, 5], [8, 2, 3, 3], .init(groups: 4)) == .grouped(width: 2))
      #expect(kind([1, 64, 5, 5], [64, 32, 3, 3], .init(groups: 2)) == .grouped(width: 32))
      #expect(kind([1, 8, 5, 5], [4, 8, 1, 1], .init(stride: 2)) == .pointwise)
      #expect(kind([1, 8, 5, 5], [4, 8, 1, 1], .init(padding: 1)) == .dense)
      #expect(kind([1, 8, 5, 5], [8, 8, 3, 3]) == .dense)
      #expect(kind([1, 8, 5, 5], [4, 4, 1, 1], .init(groups: 2)) == nil)  // 8 → 4
      #expect(kind([1, 24, 5, 5], [24, 12, 3, 3], .init(groups: 2)) == nil)  // width 12
      #expect(kind([1, 8, 5, 5], [16, 1, 3, 3], .init(groups: 8)) == nil)  // multiplier 2
      #expect(kind([1, 8, 5], [4, 8, 1]) == nil)  // 1-D
    }

    static func blocked(_ x: [Float], shape: [Int]) -> [Float] {
      var y = [Float](repeating: .nan, count: BlockedLayout.count(shape))
      x.withUnsafeBufferPointer { x in
        y.withUnsafeMutableBufferPointer { y in
          BlockedLayout.convert(x.baseAddress!, into: y.baseAddress!, shape: shape, toPlanes: false)
        }
      }
      return y
    }

    static func plain(_ x: [Float], shape: [Int]) -> [Float] {
      var y = [Float](repeating: .nan, count: shape.reduce(1, *))
      x.withUnsafeBufferPointer { x in
        y.withUnsafeMutableBufferPointer { y in
          BlockedLayout.convert(x.baseAddress!, into: y.baseAddress!, shape: shape, toPlanes: true)
        }
      }
      return y
    }
  }
}
