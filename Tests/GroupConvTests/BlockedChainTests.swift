import CKernels
import Kernels
import Tensors
import TestSupport
import Testing

/// A depthwise (grouped) convolution run in bands of rows with the pointwise expansion
/// before it, the projection after it, or both, against the same blocked kernels run one
/// after the other over whole planes: bands of 1, 2 and 3 rows and the default size, strides 1
/// and 2, 3×3, 5×5 and dilated windows, groups of 1, 2 and 16 channels, padding on one side,
/// a batch of 2, channel counts that leave partial blocks and more than one 64-channel panel,
/// and a residual added by the last stage; for both instruction sets and 1 and 2 threads.
/// The output starts as NaN, so a row no band writes fails the comparison.
extension KernelSettingsSuites {
  @Suite(.serialized) struct BlockedChainTests {
    struct Chain: Sendable, CustomTestStringConvertible {
      /// [N, C, H, W] of the chain's input.
      var input: [Int]
      /// The expansion's output channels, or nil for none.
      var expand: Int?
      /// The grouped convolution's weight shape [C, C / groups, kh, kw] and options.
      var window: [Int]
      var options: ConvolutionOptions
      /// The projection's output channels, or nil for none.
      var project: Int?
      var residual: Bool

      var testDescription: String {
        "x \(input) expand \(expand.map(String.init) ?? "-") window \(window) stride "
          + "\(options.stride) padding \(options.padding) dilation \(options.dilation) groups "
          + "\(options.groups) project \(project.map(String.init) ?? "-")"
          + (residual ? " residual" : "")
      }
    }

    static let chains: [Chain] = [
      // MobileNetV2's block: expand, depthwise 3×3, project, the block's input added.
      Chain(
        input: [1, 24, 11, 9], expand: 40, window: [40, 1, 3, 3],
        options: .init(padding: 1, groups: 40), project: 24, residual: true),
      // Expansion past a panel of 64, stride 2 over an odd height.
      Chain(
        input: [1, 16, 13, 10], expand: 72, window: [72, 1, 3, 3],
        options: .init(stride: 2, padding: 1, groups: 72), project: 20, residual: false),
      // EfficientNet's: expand and depthwise 5×5 stride 2 only (the gate comes after).
      Chain(
        input: [2, 24, 12, 7], expand: 36, window: [36, 1, 5, 5],
        options: .init(stride: 2, padding: 2, groups: 36), project: nil, residual: false),
      // Depthwise and projection only, dilated, padding on the bottom alone.
      Chain(
        input: [1, 33, 10, 8], expand: nil, window: [33, 1, 3, 3],
        options: .init(padding: [0, 1, 2, 1], dilation: 2, groups: 33), project: 70,
        residual: false),
      // ShuffleNetV2's branch: pointwise, grouped depthwise stride 2, pointwise.
      Chain(
        input: [1, 8, 9, 12], expand: 32, window: [32, 2, 3, 3],
        options: .init(stride: 2, padding: 1, groups: 16), project: 32, residual: false),
      // Groups of whole blocks; a batch; the depthwise pass adds the residual.
      Chain(
        input: [2, 16, 7, 6], expand: 32, window: [32, 16, 3, 3],
        options: .init(padding: 1, groups: 2), project: nil, residual: true),
      // Windows taller than the band, stride 1 with no padding (fewer output rows).
      Chain(
        input: [1, 20, 12, 9], expand: 20, window: [20, 1, 5, 5],
        options: .init(groups: 20), project: 17, residual: true),
    ]

    /// The chain's kernels and what they give one after the other, for `c`.
    struct Problem {
      var kernels: [BlockedConvolution?]
      var x: [Float]
      var residual: [Float]
      var expected: [Float]
      var outShape: [Int]
    }

    static let bounds: [Float] = [-0.5, 1.5]

    static func problem(_ c: Chain) throws -> Problem {
      let (n, cin, h, w) = (c.input[0], c.input[1], c.input[2], c.input[3])
      let mid = c.window[0]
      var geometries: [ConvolutionGeometry?] = []
      geometries.append(
        try c.expand.map {
          try ConvolutionGeometry(
            inputShape: c.input, weightShape: [$0, cin, 1, 1], biasShape: [$0], options: .init())
        })
      let dwInput = [n, c.expand ?? cin, h, w]
      let dw = try ConvolutionGeometry(
        inputShape: dwInput, weightShape: c.window, biasShape: [mid], options: c.options)
      geometries.append(dw)
      geometries.append(
        try c.project.map {
          try ConvolutionGeometry(
            inputShape: dw.yShape, weightShape: [$0, mid, 1, 1], biasShape: [$0], options: .init())
        })
      let kernels = try geometries.enumerated().map { index, g -> BlockedConvolution? in
        guard let g else { return nil }
        let weight = try Tensor.random(shape: g.weightShape, seed: UInt64(10 + index)).scalars
        let bias = try Tensor.random(shape: [g.yChannels], seed: UInt64(20 + index)).scalars
        return weight.withUnsafeBufferPointer { w in
          bias.withUnsafeBufferPointer { b in
            BlockedConvolution(g, weight: w, bias: b, parallelMultiplyAdds: 0)
          }
        }
      }
      let outShape = (geometries.last! ?? dw).yShape
      let x = BlockedConvolutionTests.blocked(
        try Tensor.random(shape: c.input, seed: 1).scalars, shape: c.input)
      let residual = BlockedConvolutionTests.blocked(
        try Tensor.random(shape: outShape, seed: 2).scalars, shape: outShape)
      // The stages one after the other: the expansion clamped, the depthwise pass with
      // SiLU, the projection plain; the last adds the residual.
      var value = x
      let last = kernels.lastIndex { $0 != nil }!
      for (index, kernel) in kernels.enumerated() {
        guard let kernel else { continue }
        let adding = c.residual && index == last
        var y =
          adding
          ? residual : [Float](repeating: .nan, count: BlockedLayout.count(kernel.geometry.yShape))
        value.withUnsafeBufferPointer { v in
          bounds.withUnsafeBufferPointer { clamp in
            y.withUnsafeMutableBufferPointer { y in
              kernel.forward(
                x: v.baseAddress!, y: y.baseAddress!, clamp: index == 0 ? clamp.baseAddress : nil,
                activation: index == 1 ? Activation.silu.vectorizedKind : nil,
                adding: adding)
            }
          }
        }
        value = y
      }
      return Problem(kernels: kernels, x: x, residual: residual, expected: value, outShape: outShape)
    }

    @Test(arguments: chains)
    func matchesTheKernelsOneAfterTheOther(_ c: Chain) throws {
      let p = try Self.problem(c)
      func stage(_ index: Int) -> BlockedChain.Stage? {
        p.kernels[index].map {
          BlockedChain.Stage(
            $0, clamp: index == 0 ? Self.bounds : nil,
            activation: index == 1 ? Activation.silu.vectorizedKind : nil)
        }
      }
      let dwGeometry = p.kernels[1]!.geometry
      let rowFloats = dwGeometry.ySize[1] * 16 * 8
      forEachKernelConfiguration { configuration in
        for budget in [0, rowFloats, 2 * rowFloats, 3 * rowFloats, BlockedChain.bandBudget] {
          let chain = try! #require(
            BlockedChain(
              expand: stage(0), depthwise: stage(1)!, project: stage(2), residual: c.residual,
              bandFloats: budget))
          var y = [Float](repeating: .nan, count: BlockedLayout.count(p.outShape))
          p.x.withUnsafeBufferPointer { x in
            p.residual.withUnsafeBufferPointer { r in
              y.withUnsafeMutableBufferPointer { y in
                chain.forward(
                  x: x.baseAddress!, residual: c.residual ? r.baseAddress! : nil,
                  y: y.baseAddress!)
              }
            }
          }
          expectClose(
            try! Tensor(
              shape: p.outShape, scalars: BlockedConvolutionTests.plain(y, shape: p.outShape)),
            try! Tensor(
              shape: p.outShape,
              scalars: BlockedConvolutionTests.plain(p.expected, shape: p.outShape)),
            .float32,
            "\(c.testDescription), bands of \(chain.bandRows) rows, \(configuration)")
        }
      }
    }

    /// Chains need a grouped middle, pointwise ends of stride 1 whose channels meet it and
    /// whose weights are few, and at least one end.
    @Test func chainsOnlyMatchingPointwiseEnds() throws {
      func kernel(_ input: [Int], _ weight: [Int], _ options: ConvolutionOptions = .init())
        -> BlockedConvolution
      {
        let g = try! ConvolutionGeometry(
          inputShape: input, weightShape: weight, biasShape: nil, options: options)
        let w = [Float](repeating: 0.5, count: weight.reduce(1, *))
        let b = [Float](repeating: 0, count: weight[0])
        return w.withUnsafeBufferPointer { w in
          b.withUnsafeBufferPointer { b in BlockedConvolution(g, weight: w, bias: b)! }
        }
      }
      let dw = kernel([1, 32, 8, 8], [32, 1, 3, 3], .init(padding: 1, groups: 32))
      let expand = kernel([1, 16, 8, 8], [32, 16, 1, 1])
      let project = kernel([1, 32, 8, 8], [24, 32, 1, 1])
      #expect(BlockedChain.chains(expand: expand, depthwise: dw, project: project))
      #expect(BlockedChain.chains(expand: nil, depthwise: dw, project: project))
      #expect(!BlockedChain.chains(expand: nil, depthwise: dw, project: nil))
      // An expansion to other channels, a strided one, a projection of other channels.
      #expect(
        !BlockedChain.chains(expand: kernel([1, 16, 8, 8], [48, 16, 1, 1]), depthwise: dw, project: nil))
      #expect(
        !BlockedChain.chains(
          expand: kernel([1, 16, 16, 16], [32, 16, 1, 1], .init(stride: 2)), depthwise: dw,
          project: nil))
      #expect(
        !BlockedChain.chains(expand: nil, depthwise: dw, project: kernel([1, 48, 8, 8], [24, 48, 1, 1])))
      // A wide expansion, a wide projection: 144 → 64 packs 160 · 64 weights.
      let wide = kernel([1, 64, 8, 8], [64, 1, 3, 3], .init(padding: 1, groups: 64))
      #expect(BlockedChain.chains(expand: kernel([1, 96, 8, 8], [64, 96, 1, 1]), depthwise: wide, project: nil))
      #expect(
        !BlockedChain.chains(expand: kernel([1, 144, 8, 8], [64, 144, 1, 1]), depthwise: wide, project: nil))
      #expect(
        !BlockedChain.chains(expand: nil, depthwise: wide, project: kernel([1, 64, 8, 8], [144, 64, 1, 1])))
      // A dense middle.
      #expect(
        !BlockedChain.chains(
          expand: expand, depthwise: kernel([1, 32, 8, 8], [32, 32, 3, 3], .init(padding: 1)),
          project: nil))
    }
  }
}
