import CKernels
import Tensors

/// A dense 2-D convolution of plain tensors (NCHW), or a grouped one whose groups have whole
/// blocks of 16 channels each side, computed in the channel-blocked layout: x is turned into
/// blocks of 16 channels, `BlockedConvolution`'s dense tiles read it where it lies (each
/// input value broadcast against a row of the packed weights, nothing packed per call but
/// the few input rows a tile stages for the padding), and y is turned back. A grouped one
/// runs as a dense one per group, each on its own input blocks. A batch goes an image at a
/// time, so that the image's blocked copies stay in the caches between the three passes.
///
/// The AVX2 build's kernel for dense layers (`prefers`): there the matrix product's B
/// packing and its sums through L1 took about a fifth of a dense 3×3 layer, where the layout
/// changes take about 3 % (64 → 64 channels on 56 × 56, one thread, C harness: tiles
/// 6.0 ms, staging 0.15 ms, both layout changes 0.19 ms; the matrix product 7.2 ms).
package final class BlockedDenseConvolution: FusingForwardKernel {
  /// The blocked convolution of one image.
  private let blocked: BlockedConvolution
  private let geometry: ConvolutionGeometry
  /// Floats of one image's blocked x and y, and of the bias padded to whole panels.
  private let xCount, yCount, biasCount: Int
  /// Each output channel's place in the padded bias.
  private let biasIndices: [Int]
  /// Per call in flight: the blocked x, the blocked y and the padded bias.
  private let scratch = ScratchPool<AlignedBuffer>()

  /// Whether this kernel computes `geometry` when it can: with the AVX2 kernels, a dense
  /// 2-D convolution of more than one tap and at least 16 channels in and out, or a grouped
  /// one of whole blocks. A grouped 1×1 stays a matrix product: ShuffleNet's of 3 groups of
  /// 80 channels on 28 × 28 took 1.02 times as long blocked (one thread and two).
  package static func prefers(_ geometry: ConvolutionGeometry) -> Bool {
    Machine.usesAVX2 && BlockedConvolution.kind(of: geometry, groupsAsDense: true) == .dense
      && geometry.kernel.reduce(1, *) > 1 && geometry.xChannels >= BlockedLayout.lanes
      && geometry.yChannels >= BlockedLayout.lanes
  }

  /// - Parameter parallelMultiplyAdds: as in `BlockedConvolution.init`.
  package init?(
    _ geometry: ConvolutionGeometry, weight: UnsafeBufferPointer<Float>,
    parallelMultiplyAdds: Int = BlockedConvolution.parallelMultiplyAdds
  ) {
    guard BlockedConvolution.kind(of: geometry, groupsAsDense: true) == .dense else { return nil }
    let zeros = [Float](repeating: 0, count: geometry.yChannels)
    var image = geometry
    image.batch = 1
    guard
      let blocked = unsafe zeros.withUnsafeBufferPointer({
        unsafe BlockedConvolution(
          image, weight: weight, bias: $0, groupsAsDense: true,
          parallelMultiplyAdds: parallelMultiplyAdds)
      })
    else { return nil }
    self.blocked = blocked
    self.geometry = geometry
    xCount = BlockedLayout.count(image.xShape)
    yCount = BlockedLayout.count(image.yShape)
    biasCount = blocked.biasCount
    biasIndices = (0..<geometry.yChannels).map(blocked.biasIndex)
  }

  package var addsToOutput: Bool { true }

  package func forward(
    x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
    clamp: UnsafePointer<Float>?, activation: gc_activation_kind?, adding: Bool
  ) {
    let (xCount, yCount, biasCount, biasIndices) = (xCount, yCount, biasCount, biasIndices)
    let g = geometry
    scratch.withBuffers(1, making: { AlignedBuffer(count: xCount + yCount + biasCount) }) {
      buffers in
      let blockedX = unsafe buffers[0].pointer
      let blockedY = unsafe blockedX + xCount
      let paddedBias = unsafe blockedY + yCount
      unsafe paddedBias.update(repeating: 0, count: biasCount)
      if let bias = unsafe bias {
        for (channel, index) in biasIndices.enumerated() {
          unsafe paddedBias[index] = bias[channel]
        }
      }
      let (xShape, yShape) = ([1] + g.xShape.dropFirst(), [1] + g.yShape.dropFirst())
      let (xImage, yImage) = (xShape.reduce(1, *), yShape.reduce(1, *))
      for n in 0..<g.batch {
        let (x, y) = unsafe (x + n * xImage, y + n * yImage)
        unsafe BlockedLayout.convert(x, into: blockedX, shape: xShape, toPlanes: false)
        if adding {
          unsafe BlockedLayout.convert(y, into: blockedY, shape: yShape, toPlanes: false)
        }
        unsafe blocked.forward(
          x: blockedX, y: blockedY, clamp: clamp, activation: activation, adding: adding,
          bias: paddedBias)
        unsafe BlockedLayout.convert(blockedY, into: y, shape: yShape, toPlanes: true)
      }
    }
  }
}
