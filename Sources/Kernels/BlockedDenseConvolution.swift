import CKernels
import Tensors

/// A dense 2-D convolution of plain tensors (NCHW), or a grouped one whose groups have whole
/// blocks of 16 channels each side, computed in the channel-blocked layout: x is turned into
/// blocks of 16 channels, `BlockedConvolution`'s dense tiles read it where it lies (each
/// input value broadcast against a row of the packed weights, nothing packed per call but
/// the few input rows a tile stages for the padding), and y is turned back. A grouped one
/// runs as a dense one per group, each on its own input blocks. The work goes in pieces (a
/// band of output rows of a group of an image), each from start to end on one thread.
///
/// The AVX2 build's kernel for dense layers (`prefers`): there the matrix product's B
/// packing and its sums through L1 took about a fifth of a dense 3×3 layer, where the layout
/// changes take about 3 % (64 → 64 channels on 56 × 56, one thread, C harness: tiles
/// 6.0 ms, staging 0.15 ms, both layout changes 0.19 ms; the matrix product 7.2 ms).
package final class BlockedDenseConvolution: FusingForwardKernel {
  /// The blocked convolution of one image.
  private let blocked: BlockedConvolution
  private let geometry: ConvolutionGeometry
  /// Floats of the bias padded to whole panels.
  private let biasCount: Int
  /// Each output channel's place in the padded bias.
  private let biasIndices: [Int]
  /// Per thread of a call: one group's blocked x and y and a stage (then, in the first
  /// thread's, the padded bias).
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
    biasCount = blocked.biasCount
    biasIndices = (0..<geometry.yChannels).map(blocked.biasIndex)
  }

  package var addsToOutput: Bool { true }

  /// y = f(clamp(x ⋆ w + bias (+ y))) a piece at a time (a band of output rows of a group
  /// of an image), each piece a thread's from start to end: the input rows it reads turned
  /// into blocks, its dense tiles, its output rows turned back, all in the thread's own
  /// buffers, which stay in its L2. One fork and join per call, where a pass of layout
  /// changes and tiles took three per image.
  package func forward(
    x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
    clamp: UnsafePointer<Float>?, activation: gc_activation_kind?, adding: Bool
  ) {
    let threads = blocked.small ? 1 : Threads.count
    let g = geometry
    let groups = blocked.denseGroups
    let bands = Self.bands(images: g.batch, groups: groups, threads: threads, rows: g.ySize[0])
    let (xPerGroup, yPerGroup) = (g.xChannels / groups, g.yChannels / groups)
    let (inH, inW, outH, outW) = (g.xSize[0], g.xSize[1], g.ySize[0], g.ySize[1])
    let (inPlane, outPlane) = (inH * inW, outH * outW)
    // Whole blocks: a dense layer's channels may end in part of one.
    let (xBlocks, yBlocks) = (BlockedLayout.blocks(xPerGroup), BlockedLayout.blocks(yPerGroup))
    let lanes = BlockedLayout.lanes
    let (xFloats, yFloats) = (xBlocks * lanes * inPlane, yBlocks * lanes * outPlane)
    let stageFloats = blocked.groupStageCount
    let count = xFloats + yFloats + stageFloats + biasCount
    scratch.withBuffers(threads, making: { AlignedBuffer(count: count) }) { buffers in
      let paddedBias = unsafe buffers[0].pointer + xFloats + yFloats + stageFloats
      unsafe padBias(bias, into: paddedBias)
      Threads.forEachItem(g.batch * groups * bands, threads: threads) { [buffers] worker, item in
        let (piece, band) = item.quotientAndRemainder(dividingBy: bands)
        let (image, group) = piece.quotientAndRemainder(dividingBy: groups)
        let rows = outH * band / bands..<outH * (band + 1) / bands
        guard !rows.isEmpty else { return }
        let blockedX = unsafe buffers[worker].pointer
        let blockedY = unsafe blockedX + xFloats
        let stage = unsafe blockedY + yFloats
        let xPlanes = unsafe x + (image * g.xChannels + group * xPerGroup) * inPlane
        let yPlanes = unsafe y + (image * g.yChannels + group * yPerGroup) * outPlane
        // The input rows the band reads, inside the input.
        let first = max(0, rows.lowerBound * g.stride[0] - g.padBegin[0])
        let last = min(
          inH - 1,
          (rows.upperBound - 1) * g.stride[0] - g.padBegin[0] + (g.kernel[0] - 1) * g.dilation[0])
        if first <= last {
          for block in 0..<xBlocks {
            unsafe gc_blocked_from_planes(
              xPlanes, blockedX, Int64(xPerGroup), Int64(inPlane), Int64(block),
              Int64(first * inW), Int64((last + 1) * inW))
          }
        }
        let (begin, end) = (Int64(rows.lowerBound * outW), Int64(rows.upperBound * outW))
        if adding {
          for block in 0..<yBlocks {
            unsafe gc_blocked_from_planes(
              yPlanes, blockedY, Int64(yPerGroup), Int64(outPlane), Int64(block), begin, end)
          }
        }
        unsafe self.blocked.forwardGroup(
          group, rows: rows, x: blockedX, y: blockedY, bias: paddedBias, stage: stage,
          clamp: clamp, activation: activation, adding: adding)
        for block in 0..<yBlocks {
          unsafe gc_blocked_to_planes(
            blockedY, yPlanes, Int64(yPerGroup), Int64(outPlane), Int64(block), begin, end)
        }
      }
    }
  }

  /// Bands of output rows each group of an image is cut into: 1 when the call's images ×
  /// groups split evenly over the threads, or give each at least 4; else about 4 pieces a
  /// thread, at most one row a band.
  package static func bands(images: Int, groups: Int, threads: Int, rows: Int) -> Int {
    let pieces = images * groups
    if pieces % threads == 0 || pieces >= 4 * threads { return 1 }
    return max(1, min(rows, (4 * threads + pieces - 1) / pieces))
  }

  /// The padded bias (zeros where `biasIndices` put no channel).
  private func padBias(_ bias: UnsafePointer<Float>?, into padded: UnsafeMutablePointer<Float>) {
    unsafe padded.update(repeating: 0, count: biasCount)
    guard let bias = unsafe bias else { return }
    for (channel, index) in biasIndices.enumerated() { unsafe padded[index] = bias[channel] }
  }
}
