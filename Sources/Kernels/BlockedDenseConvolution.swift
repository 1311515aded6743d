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
  /// Per thread of a call that goes a group at a time: one group's blocked x and y and a
  /// stage (then, in the first thread's, the padded bias).
  private let groupScratch = ScratchPool<AlignedBuffer>()

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
    let threads = blocked.small ? 1 : Threads.count
    if Self.goesByGroups(images: geometry.batch, groups: blocked.denseGroups, threads: threads) {
      unsafe forwardByGroups(
        x: x, bias: bias, y: y, clamp: clamp, activation: activation, adding: adding,
        threads: threads)
      return
    }
    let (xCount, yCount, biasCount) = (xCount, yCount, biasCount)
    let g = geometry
    scratch.withBuffers(1, making: { AlignedBuffer(count: xCount + yCount + biasCount) }) {
      buffers in
      let blockedX = unsafe buffers[0].pointer
      let blockedY = unsafe blockedX + xCount
      let paddedBias = unsafe blockedY + yCount
      unsafe padBias(bias, into: paddedBias)
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

  /// Whether a call goes a group of an image at a time (`forwardByGroups`): with more than
  /// one such item, the threads' shares of them even, or at least 4 items a thread.
  package static func goesByGroups(images: Int, groups: Int, threads: Int) -> Bool {
    let items = images * groups
    return items > 1 && items >= threads && (items % threads == 0 || items >= 4 * threads)
  }

  /// The padded bias (zeros where `biasIndices` put no channel).
  private func padBias(_ bias: UnsafePointer<Float>?, into padded: UnsafeMutablePointer<Float>) {
    unsafe padded.update(repeating: 0, count: biasCount)
    guard let bias = unsafe bias else { return }
    for (channel, index) in biasIndices.enumerated() { unsafe padded[index] = bias[channel] }
  }

  /// `forward` a group of an image at a time, each a thread's from start to end: its input
  /// channels turned into blocks, its dense pass, its output turned back, all in the
  /// thread's own buffers. One fork and join where an image otherwise takes three (the two
  /// layout changes and the tiles), and the group's blocked copies stay in the thread's L2.
  private func forwardByGroups(
    x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
    clamp: UnsafePointer<Float>?, activation: gc_activation_kind?, adding: Bool, threads: Int
  ) {
    let g = geometry
    let groups = blocked.denseGroups
    let (xPerGroup, yPerGroup) = (g.xChannels / groups, g.yChannels / groups)
    let (inPlane, outPlane) = (g.xSize.reduce(1, *), g.ySize.reduce(1, *))
    // Whole blocks: a dense layer's channels may end in part of one.
    let (xBlocks, yBlocks) = (BlockedLayout.blocks(xPerGroup), BlockedLayout.blocks(yPerGroup))
    let lanes = BlockedLayout.lanes
    let (xFloats, yFloats) = (xBlocks * lanes * inPlane, yBlocks * lanes * outPlane)
    let stageFloats = blocked.groupStageCount
    let count = xFloats + yFloats + stageFloats + biasCount
    groupScratch.withBuffers(threads, making: { AlignedBuffer(count: count) }) { buffers in
      let paddedBias = unsafe buffers[0].pointer + xFloats + yFloats + stageFloats
      unsafe padBias(bias, into: paddedBias)
      Threads.forEachItem(g.batch * groups, threads: threads) { [buffers] worker, item in
        let (image, group) = item.quotientAndRemainder(dividingBy: groups)
        let blockedX = unsafe buffers[worker].pointer
        let blockedY = unsafe blockedX + xFloats
        let stage = unsafe blockedY + yFloats
        let xPlanes = unsafe x + (image * g.xChannels + group * xPerGroup) * inPlane
        let yPlanes = unsafe y + (image * g.yChannels + group * yPerGroup) * outPlane
        for block in 0..<xBlocks {
          unsafe gc_blocked_from_planes(
            xPlanes, blockedX, Int64(xPerGroup), Int64(inPlane), Int64(block), 0, Int64(inPlane))
        }
        if adding {
          for block in 0..<yBlocks {
            unsafe gc_blocked_from_planes(
              yPlanes, blockedY, Int64(yPerGroup), Int64(outPlane), Int64(block), 0,
              Int64(outPlane))
          }
        }
        unsafe self.blocked.forwardGroup(
          group, x: blockedX, y: blockedY, bias: paddedBias, stage: stage, clamp: clamp,
          activation: activation, adding: adding)
        for block in 0..<yBlocks {
          unsafe gc_blocked_to_planes(
            blockedY, yPlanes, Int64(yPerGroup), Int64(outPlane), Int64(block), 0,
            Int64(outPlane))
        }
      }
    }
  }
}
