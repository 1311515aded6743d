import GroupConv
import Kernels
import TestSupport
import Testing

extension WeightGradientCase {
  // Small shapes around the matrix-product kernel's tiles: 1 to 5 vectors of 16 output
  // channels (5 → blocks of 3 and 2) with a partial last one; rows (input channel × tap) in
  // and past the 6-, 8- and 10-row microkernels; positions around 16; x read in place (stride
  // 1, no padding) and through phase planes.
  static let gemm: [WeightGradientCase] = [
    .init(
      "dense 3x3, 17 outputs, 9 inputs, padding 1", x: [1, 9, 6, 17], w: [17, 9, 3, 3],
      .init(padding: 1), seed: 101),
    .init(
      "pointwise, 16 outputs, 33 inputs, batch 2 (in place)", x: [2, 33, 5, 7], w: [16, 33, 1, 1],
      seed: 102),
    .init(
      "pointwise, 80 outputs (3 + 2 vectors), 9 inputs, 4x4 plane", x: [1, 9, 4, 4],
      w: [80, 9, 1, 1], seed: 103),
    .init(
      "pointwise, 64 outputs, 13 inputs, 17 positions", x: [1, 13, 1, 17], w: [64, 13, 1, 1],
      seed: 104),
    .init(
      "pointwise, 47 outputs, 3 groups of 11 inputs", x: [1, 33, 3, 5], w: [141, 11, 1, 1],
      .init(groups: 3), seed: 105),
    .init(
      "groups of 9, 3x3, stride 2, padding 1, batch 2", x: [2, 18, 7, 9], w: [24, 9, 3, 3],
      .init(stride: 2, padding: 1, groups: 2), seed: 106),
    .init(
      "dense 3x3, dilation 2, padding 2", x: [1, 10, 7, 8], w: [20, 10, 3, 3],
      .init(padding: 2, dilation: 2), seed: 107),
    .init(
      "dense 2x3, stride (2, 3), asymmetric padding (0, 1 | 1, 2)", x: [1, 9, 8, 13],
      w: [11, 9, 2, 3], .init(stride: [2, 3], padding: [0, 1, 1, 2]), seed: 108),
    .init(
      "dense 3x3, no padding (in place), 15 outputs", x: [1, 12, 6, 19], w: [15, 12, 3, 3],
      seed: 109),
    .init(
      "dense 3x3, kernel wider than the input", x: [1, 9, 2, 1], w: [10, 9, 3, 3],
      .init(padding: 1), seed: 110),
    .init(
      "conv1d kernel 5, stride 2, padding 2, batch 2", x: [2, 10, 37], w: [12, 10, 5],
      .init(stride: 2, padding: 2), seed: 111),
    .init(
      "conv3d 3x3x3, stride (1, 2, 1), dilation (2, 1, 1), padding 1", x: [1, 9, 5, 5, 6],
      w: [10, 9, 3, 3, 3], .init(stride: [1, 2, 1], padding: 1, dilation: [2, 1, 1]), seed: 112),
    .init(
      "conv1d kernel 3, dilation 3, no padding (in place)", x: [2, 11, 29], w: [18, 11, 3],
      .init(dilation: 3), seed: 115),
    .init(
      "conv3d 2x2x2, no padding (in place), 2 groups", x: [1, 20, 3, 4, 5], w: [34, 10, 2, 2, 2],
      .init(groups: 2), seed: 116),
    .init(
      "conv_transpose2d, 12 channels, stride 2, output padding 1", x: [1, 10, 4, 5],
      w: [10, 12, 3, 3], .init(stride: 2, padding: 1, transposed: true, outputPadding: 1),
      seed: 113),
    // Sums of 1568 terms per weight.
    .init(
      "dense 3x3, 28x28 planes, 16 channels, batch 2", x: [2, 16, 28, 28], w: [16, 16, 3, 3],
      .init(padding: 1), seed: 114),
  ]
}

/// The matrix-product weight-gradient kernel against the reference loops.
extension KernelSettingsSuites {
  @Suite(.serialized) struct GemmWeightGradientTests {
    typealias Kernels = WeightGradientKernelTests

    @Test(arguments: WeightGradientCase.gemm)
    func matchesReference(_ c: WeightGradientCase) throws {
      let g = try c.geometry()
      #expect(
        c.name.contains("transpose") || WeightGradientKernels.make(for: g) is GemmWeightGradient,
        "\(c): another kernel")
      // Its defaults; then stages and blocks of 16 positions, items split for 64 threads down
      // to 16 output channels and single input channels, and into chunks of steps.
      try Kernels.expectMatchesReference(c, [
        ("gemm", GemmWeightGradient(g)),
        (
          "gemm, small stages, split",
          GemmWeightGradient(g, stageBytes: 1, blockBytes: 1, workPerThread: 1, threads: 64)
        ),
      ])
    }

    @Test func repeatedCallsGiveTheSameResult() throws {
      // Pooled scratch is reused, and items of different widths share it; planned for 5
      // threads, the 5 input ranges' 6 (sample, stage) steps are cut into 4 chunks each, whose
      // sums must add up in the same order whichever thread ran them.
      let g = try WeightGradientCase.gemm[1].geometry()
      let x = try Tensor.random(shape: g.xShape, seed: 7).scalars
      let dy = try Tensor.random(shape: g.yShape, seed: 8).scalars
      let kernel = try #require(
        GemmWeightGradient(g, stageBytes: 1, blockBytes: 1, workPerThread: 1, threads: 5))
      #expect(kernel.chunks == 4 && kernel.items.count == 20)
      lockKernelSettings()
      let threads = Threads.count
      defer {
        Threads.count = threads
        unlockKernelSettings()
      }
      for count in [1, 2] {
        Threads.count = count
        let first = Kernels.gradients(kernel, g, dy: dy, x: x)
        for _ in 0..<3 {
          let again = Kernels.gradients(kernel, g, dy: dy, x: x)
          #expect(again.dw == first.dw && again.db == first.db, "\(count) threads")
        }
      }
    }
  }
}
