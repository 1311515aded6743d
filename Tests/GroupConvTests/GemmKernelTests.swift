import CKernels
import Kernels
import Tensors
import TestSupport
import Testing

/// The GEMM forward kernel against the reference loops, over odd shapes around its tile
/// (8 output channels × 48 positions), its vector width (16) and its K blocks (2304 lines of B), for
/// both instruction sets and 1 and 2 threads. The output starts as NaN, so an element the
/// kernel fails to write fails the comparison.
extension KernelSettingsSuites {
  @Suite(.serialized) struct GemmKernelTests {
    struct Case: Sendable, CustomTestStringConvertible {
      var input: [Int]
      var weight: [Int]
      var bias: Bool
      var options: ConvolutionOptions
      init(
        _ input: [Int], _ weight: [Int], bias: Bool = true,
        _ options: ConvolutionOptions = .init()
      ) {
        (self.input, self.weight, self.bias, self.options) = (input, weight, bias, options)
      }
      var testDescription: String {
        "x \(input) w \(weight)\(bias ? " bias" : "") stride \(options.stride) padding "
          + "\(options.padding) dilation \(options.dilation) groups \(options.groups)"
      }

      /// The case's geometry, seeded random x, w and bias, and the reference loops' output.
      func problem() throws -> (
        geometry: ConvolutionGeometry, x: Tensor, w: Tensor, b: Tensor, expected: [Float]
      ) {
        let geometry = try ConvolutionGeometry(
          inputShape: input, weightShape: weight, biasShape: bias ? [weight[0]] : nil,
          options: options)
        let x = try Tensor.random(shape: input, seed: 1)
        let w = try Tensor.random(shape: weight, seed: 2)
        let b = try Tensor.random(shape: [weight[0]], seed: 3)
        var expected = Reference.correlate(x: x.scalars, w: w.scalars, geometry)
        if bias {
          Reference.addBias(
            b.scalars, to: &expected, channels: geometry.yChannels,
            plane: geometry.ySize.reduce(1, *))
        }
        return (geometry, x, w, b, expected)
      }

      /// The kernel for the case's shapes, with seeded random weights.
      func kernel() throws -> GemmConvolution {
        let geometry = try ConvolutionGeometry(
          inputShape: input, weightShape: weight, biasShape: nil, options: options)
        let w = try Tensor.random(shape: weight, seed: 2)
        return try #require(w.withUnsafeBufferPointer { GemmConvolution(geometry, weight: $0) })
      }
    }

    static let pointwise: [Case] = [
      Case([1, 3, 1, 1], [5, 3, 1, 1]),  // 1 position
      Case([1, 3, 15], [7, 3, 1], bias: false),  // 15
      Case([2, 17, 4, 4], [6, 17, 1, 1], bias: false),  // 16
      Case([1, 3, 17], [13, 3, 1]),  // 17
      Case([1, 70, 7, 9], [33, 70, 1, 1]),  // 63
      Case([1, 6, 8, 8], [6, 3, 1, 1], .init(groups: 2)),  // 64
      Case([1, 9, 5, 13], [9, 3, 1, 1], .init(groups: 3)),  // 65
      Case([2, 34, 10, 10], [14, 17, 1, 1], .init(groups: 2)),  // 100
      Case([1, 1, 10, 10], [1, 1, 1, 1]),
      Case([1, 4, 10, 10], [8, 4, 1, 1], .init(stride: 2)),
      Case([1, 3, 9, 11], [5, 3, 1, 1], .init(stride: 3, padding: 1)),
      Case([1, 2, 3, 17, 4], [4, 2, 1, 1, 1]),  // 3-D
      Case([2, 5, 7, 7], [6, 5, 1, 1]),  // 49 positions: the last tile reads past x's end
      Case([1, 1200, 7, 7], [18, 600, 1, 1], .init(groups: 2)),  // K blocks, in place then not
      packed[0],
    ]

    /// B packed per tile, in blocks of up to 128 rows: K of 64 or more, and 64 or more
    /// output channels (24 for a pointwise convolution). All but the first (in place) gather
    /// B from x as they pack it: padded, stride 1, output rows as wide as the input's.
    static let packed: [Case] = [
      Case([1, 520, 17, 18], [72, 520, 1, 1]),  // in place; 5 blocks of 104 rows
      Case([1, 57, 17, 17], [67, 57, 3, 3], .init(padding: 1)),  // K = 513; 8 panels and 3 rows
      // Two K blocks, each packed; the last tile has 1 vector.
      Case([1, 170, 16, 18], [64, 170, 3, 3], bias: false, .init(padding: 1)),
      Case([1, 128, 18, 18], [128, 64, 3, 3], .init(padding: 1, groups: 2)),  // groups of 64
      Case([1, 64, 300], [64, 64, 3], .init(padding: 1)),  // 1-D
      // Dilation 2, no bottom padding: 19 rows out of 21; blocks of 96 rows start mid-channel.
      Case([1, 32, 21, 47], [64, 32, 3, 3], .init(padding: [2, 2, 0, 2], dilation: 2)),
      // 21 rows out of 19: the first two read only zeros.
      Case([1, 40, 19, 23], [72, 40, 3, 3], bias: false, .init(padding: [3, 1, 1, 1])),
    ]

    @Test(arguments: packed + [pointwise[4]])  // the last: one block, 4 panels and 1 row
    func packedTilesAreChosen(_ c: Case) throws {
      #expect(try c.kernel().packsTiles)
    }

    /// Gathering takes the packed cases that are padded, of stride 1 and as wide out as in;
    /// not those in place, strided, or narrower out than in.
    @Test func gatheredTilesAreChosen() throws {
      for c in Self.packed[1...] { #expect(try c.kernel().gathersTiles, "\(c.testDescription)") }
      let others = [
        Self.packed[0], Self.pointwise[4],
        Case([1, 64, 40, 40], [64, 64, 3, 3], .init(stride: 2, padding: 1)),
        Case([1, 64, 20, 41], [64, 64, 3, 3], .init(padding: [1, 0, 1, 0])),  // 39 columns of 41
      ]
      for c in others {
        let kernel = try c.kernel()
        #expect(kernel.packsTiles && !kernel.gathersTiles, "\(c.testDescription)")
      }
    }

    static let spatial: [Case] = [
      Case([1, 3, 8, 8], [7, 3, 3, 3], .init(padding: 1)),
      Case([2, 17, 9, 7], [13, 17, 3, 3], .init(padding: 1)),
      Case([1, 6, 10, 10], [6, 3, 3, 3], bias: false, .init(stride: 2, padding: 1, groups: 2)),
      Case([1, 3, 11, 12], [5, 3, 3, 3], .init(stride: 3)),
      Case([1, 2, 12, 12], [6, 1, 3, 3], .init(padding: .same, dilation: 2, groups: 2)),
      Case([1, 170, 6, 6], [33, 170, 3, 3], .init(padding: 1)),  // K = 1530: two K blocks
      Case([1, 140, 5, 5], [16, 70, 3, 3], .init(padding: 1, groups: 2)),
      Case([1, 64, 16, 16], [240, 64, 3, 3], .init(padding: 1)),  // two output-channel ranges
      Case([1, 3, 9, 10], [13, 3, 2, 4], .init(padding: [1, 0, 2, 3])),  // asymmetric
      Case([1, 3, 9, 10], [13, 3, 2, 4], bias: false, .init(padding: .same)),
      Case([1, 2, 11, 11], [6, 2, 5, 5], .init(padding: 2)),
      Case([1, 4, 12, 13], [6, 2, 5, 5], .init(stride: 2, padding: 3, dilation: 2, groups: 2)),
      Case([1, 3, 5, 5], [5, 3, 3, 3], .init(padding: 4)),  // padding wider than the kernel
      Case([1, 3, 12, 12], [5, 3, 3, 3]),  // in place, with a prepared last tile
      Case([2, 5, 20, 20], [7, 5, 3, 3], .init(dilation: [2, 1])),  // in place
      Case([1, 6, 9, 30], [9, 2, 3, 3], .init(stride: [3, 2], padding: [2, 1], groups: 3)),
      Case([2, 5, 100], [6, 5, 3], .init(padding: 1)),  // 1-D
      Case([1, 4, 65], [8, 2, 5], .init(stride: 2, padding: [1, 3], dilation: 2, groups: 2)),
      Case([1, 2, 4], [3, 2, 3], .init(padding: [5, 1])),
      Case([2, 4, 30], [6, 4, 5], .init(padding: [0, 3], dilation: 2)),  // end padding only
      Case([1, 3, 9, 10], [5, 3, 3, 3], .init(padding: [0, 0, 1, 2])),
      Case([1, 3, 5, 6, 7], [5, 3, 3, 3, 3], .init(padding: 1)),  // 3-D
      Case([2, 4, 4, 5, 6], [6, 2, 2, 3, 3], .init(stride: [1, 2, 2], padding: 1, groups: 2)),
      Case(
        [1, 2, 7, 6, 9], [4, 2, 2, 3, 2],
        .init(stride: [2, 1, 2], padding: [1, 2, 0, 0, 1, 1], dilation: [1, 2, 1])),
      Case([1, 2, 4, 5, 6], [3, 2, 3, 3, 3]),  // 3-D in place
      Case([1, 3, 20, 20], [4, 3, 2, 2], .init(stride: 3)),  // stride beyond the kernel
      Case([1, 3, 15, 15], [5, 3, 3, 3], .init(stride: 2, padding: 2, dilation: 2)),  // 1 phase
      Case([1, 3, 16, 16], [8, 3, 4, 4], bias: false, .init(stride: 4)),  // patches
      Case([1, 4, 40, 40], [9, 4, 3, 3], .init(padding: 1)),  // 35 tiles: several chunks
    ] + packed[1...]

    /// Few positions and many output channels, or a small plane with a long K: the column
    /// layout (channels in the lanes).
    static let columns: [Case] = [
      Case([1, 64, 4, 4], [240, 64, 3, 3], .init(padding: 1)),
      Case([1, 40, 7, 7], [32, 40, 3, 3], .init(padding: 1)),  // K = 360: two K slices
      Case([2, 6, 7, 7], [130, 3, 3, 3], bias: false, .init(padding: 1, groups: 2)),
      Case([1, 30, 3, 6], [100, 30, 1, 1]),  // in place
      Case([1, 20, 1, 1], [130, 20, 1, 1]),  // 1 position
      Case([1, 8, 14, 14], [48, 8, 3, 3], .init(stride: 2, padding: 1)),  // phases
      Case([1, 300, 2, 3], [64, 300, 1, 1]),  // K slices in place
      Case([1, 4, 3, 4, 5], [33, 4, 2, 3, 3], .init(padding: [1, 1, 1])),  // 3-D
      Case([1, 6, 3, 5], [40, 6, 2, 2], .init(padding: [0, 0, 1, 1])),  // end padding only
      Case([1, 96, 13, 13], [72, 96, 1, 1]),  // a small plane with a long K
      // A squeeze-and-excitation reduction: 1 position, 20 output channels in 2 vectors.
      Case([2, 480, 1, 1], [20, 480, 1, 1]),
      Case([1, 24, 2, 2], [24, 8, 1, 1], .init(groups: 3)),  // 8 output channels a group
      Case([1, 32, 1, 1], [4, 32, 1, 1]),  // 4 output channels: 1 vector, 12 lanes idle
    ]

    @Test(arguments: columns)
    func columnsAreChosen(_ c: Case) throws {
      #expect(try c.kernel().usesColumns)
    }

    /// Weights scaled per input channel (a squeeze-and-excitation gate folded in) give the
    /// convolution of the scaled input, in the row and the column layouts, grouped or not.
    @Test(arguments: [pointwise[4], pointwise[7], pointwise[11], spatial[3], columns[2], columns[6]])
    func scaledPanelsMatchAScaledInput(_ c: Case) throws {
      let (geometry, x, w, b, _) = try c.problem()
      let scale = try Tensor.random(shape: [c.input[1]], seed: 5).scalars
      let plane = c.input[2...].reduce(1, *)
      let scaledX = x.scalars.indices.map { x.scalars[$0] * scale[$0 / plane % c.input[1]] }
      var expected = Reference.correlate(x: scaledX, w: w.scalars, geometry)
      if c.bias {
        Reference.addBias(
          b.scalars, to: &expected, channels: geometry.yChannels, plane: geometry.ySize.reduce(1, *))
      }
      let kernel = try #require(
        w.withUnsafeBufferPointer { GemmConvolution(geometry, weight: $0, parallelMultiplyAdds: 0) })
      let panels = AlignedBuffer(count: kernel.panelCount)
      scale.withUnsafeBufferPointer { kernel.scalePanels(by: $0.baseAddress!, into: panels.pointer) }
      var y = [Float](repeating: .nan, count: expected.count)
      x.withUnsafeBufferPointer { x in
        b.withUnsafeBufferPointer { b in
          y.withUnsafeMutableBufferPointer { y in
            kernel.forward(
              x: x.baseAddress!, bias: c.bias ? b.baseAddress! : nil, y: y.baseAddress!,
              clamp: nil, activation: nil, adding: false, panels: panels.pointer)
          }
        }
      }
      let terms = Float(c.weight[1...].reduce(1, *))
      expectClose(
        try Tensor(shape: geometry.yShape, scalars: y),
        try Tensor(shape: geometry.yShape, scalars: expected),
        Tolerance(absolute: 1e-5 * max(1, (terms / 16).squareRoot()), relative: 1e-4),
        c.testDescription)
    }

    @Test(arguments: pointwise + spatial + columns)
    func matchesReference(_ c: Case) throws {
      let (geometry, x, w, b, expected) = try c.problem()
      // Float sums over K terms of size about 1 drift by about sqrt(K) ulps.
      let terms = Float(c.weight[1...].reduce(1, *))
      let tolerance = Tolerance(absolute: 1e-5 * max(1, (terms / 16).squareRoot()), relative: 1e-4)

      lockKernelSettings()
      let threads = Threads.count
      defer {
        Threads.count = threads
        gc_use_isa(-1)
        unlockKernelSettings()
      }
      for isa in instructionSets {
        for threadCount in [1, 2] {
          gc_use_isa(isa)
          Threads.count = threadCount
          let kernel = try #require(
            w.withUnsafeBufferPointer {
              GemmConvolution(geometry, weight: $0, parallelMultiplyAdds: 0)
            })
          var y = [Float](repeating: .nan, count: expected.count)
          kernel.forward(x, bias: c.bias ? b : nil, y: &y)
          expectClose(
            try Tensor(shape: geometry.yShape, scalars: y),
            try Tensor(shape: geometry.yShape, scalars: expected), tolerance,
            "\(c.testDescription) \(String(cString: gc_isa_name())) threads \(threadCount)")

          // Added to a residual in y, clamped, then SiLU: y = silu(clamp(x ⋆ w + b + r)).
          let r = try Tensor.random(shape: geometry.yShape, seed: 4).scalars
          let bounds: [Float] = [-1, 1.5]
          y = r
          kernel.forward(
            x, bias: c.bias ? b : nil, y: &y, clamp: bounds, activation: .silu, adding: true)
          let added = zip(expected, r).map {
            Activation.silu.value(min(max($0 + $1, bounds[0]), bounds[1]))
          }
          expectClose(
            try Tensor(shape: geometry.yShape, scalars: y),
            try Tensor(shape: geometry.yShape, scalars: added), tolerance,
            "adding \(c.testDescription) \(String(cString: gc_isa_name())) threads \(threadCount)")
        }
      }
    }
  }
}
