import CKernels
import Tensors

/// Depthwise convolution (one filter per channel) of small 2-D planes, the late layers of
/// mobile networks (7×7, 14×14), with 16 channels in the vector lanes (`gc_dwlanes`).
///
/// Along a row of 7 or 14 positions, vectors of 16 positions leave most lanes idle; here each
/// output position is one vector of 16 channels, as a blocked layout holds it. Per block of 16
/// channels: the planes are transposed into the lanes (16 × 16 at a time) and padded with
/// zeros, every output vector sums its taps with one multiply-add each, and the sums are
/// transposed back. Weights are packed once: [block][tap][16 channels].
@safe package final class DepthwiseLanes: FusingForwardKernel, @unchecked Sendable {
  /// Input positions per plane at most: the staged block (16 channels) stays in L1.
  package static let largestPlane = 256
  /// Taps per filter at least: with AVX-512 and fewer taps (3×3), the transposes in and out
  /// cost more than the lanes save, and the row kernels of `DirectConvolution` win. With AVX2,
  /// whose row kernels hold a quarter of the accumulators, 3×3 filters gain too (two threads,
  /// medians of 8 runs alternating with the row kernels: 960 channels of 7 × 7 0.55 of the
  /// time, 576 of 14 × 14 0.80, 576 of 14 × 14 with stride 2 0.60, 144 of 8 × 8 0.82).
  package static var fewestTaps: Int { Machine.usesAVX2 ? 9 : 25 }
  /// Multiply-adds below which one thread runs the whole pass: a second costs more than it
  /// saves. AVX2's passes take about 4 times as long, so threads pay from fewer (two threads
  /// against one, medians of 8 runs alternating: 960 channels of 7 × 7 0.57 of the time, 576
  /// of 14 × 14 with stride 2 0.59, 144 of 8 × 8 0.67).
  package static var parallelMultiplyAdds: Int { Machine.usesAVX2 ? 1 << 16 : 1 << 19 }

  private let geometry: ConvolutionGeometry
  private let weights: AlignedBuffer
  private let blocks: Int
  private let stagedHeight, stagedWidth, scratchCount: Int
  private let small: Bool
  private let scratchPool = ScratchPool<AlignedBuffer>()

  /// Nil unless `geometry` is a 2-D depthwise convolution with a multiplier of 1, zeros
  /// padding, planes of at most `largestPlane` positions and filters of `fewestTaps` taps
  /// or more (`anyTaps` lifts that, for tests).
  package init?(
    _ geometry: ConvolutionGeometry, weight: UnsafeBufferPointer<Float>,
    parallelMultiplyAdds: Int = DepthwiseLanes.parallelMultiplyAdds, anyTaps: Bool = false
  ) {
    let g = geometry
    guard !g.transposed, g.paddingMode == .zeros, g.spatialRank == 2, g.groups == g.xChannels,
      g.yChannels == g.xChannels, g.multiplyAdds > 0,
      g.xSize.reduce(1, *) <= Self.largestPlane, anyTaps || g.kernel.reduce(1, *) >= Self.fewestTaps,
      weight.count == g.weightShape.reduce(1, *)
    else { return nil }
    self.geometry = g
    let taps = g.kernel.reduce(1, *)
    blocks = (g.xChannels + 15) / 16
    weights = AlignedBuffer(count: blocks * taps * 16)
    for channel in 0..<g.xChannels {
      let (block, lane) = channel.quotientAndRemainder(dividingBy: 16)
      for tap in 0..<taps {
        unsafe weights.pointer[(block * taps + tap) * 16 + lane] = weight[channel * taps + tap]
      }
    }
    func reach(_ d: Int) -> Int { (g.ySize[d] - 1) * g.stride[d] + (g.kernel[d] - 1) * g.dilation[d] + 1 }
    stagedHeight = max(g.padBegin[0] + g.xSize[0], reach(0))
    stagedWidth = max(g.padBegin[1] + g.xSize[1], reach(1))
    scratchCount = stagedHeight * stagedWidth * 16 + (g.ySize.reduce(1, *) + 15) / 16 * 16 * 16
    small = g.multiplyAdds < parallelMultiplyAdds
  }

  package var addsToOutput: Bool { false }

  package func forward(
    x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
    clamp: UnsafePointer<Float>?, activation: gc_activation_kind?, adding: Bool
  ) {
    precondition(!adding, "the channel-lane kernel does not add to its output")
    let g = geometry
    // The bias in whole blocks of 16, zeros past the channels.
    var blockBias = [Float](repeating: 0, count: unsafe bias == nil ? 0 : blocks * 16)
    if let bias = unsafe bias {
      for c in 0..<g.yChannels { unsafe blockBias[c] = bias[c] }
    }
    let perImage = min(blocks, 4 * max(1, Threads.count))
    let items = g.batch * perImage
    let threads = small ? 1 : min(Threads.count, items)
    let (plane, outPlane) = (g.xSize.reduce(1, *), g.ySize.reduce(1, *))
    scratchPool.withBuffers(threads, floats: scratchCount) { buffers in
      unsafe blockBias.withUnsafeBufferPointer { blockBias in
        let args = unsafe gc_dwlanes_args(
          x: x, y: y, channels: Int64(g.xChannels), in_h: Int64(g.xSize[0]),
          in_w: Int64(g.xSize[1]), out_h: Int64(g.ySize[0]), out_w: Int64(g.ySize[1]),
          kernel_h: Int64(g.kernel[0]), kernel_w: Int64(g.kernel[1]),
          stride_h: Int64(g.stride[0]), stride_w: Int64(g.stride[1]),
          dilation_h: Int64(g.dilation[0]), dilation_w: Int64(g.dilation[1]),
          pad_top: Int64(g.padBegin[0]), pad_left: Int64(g.padBegin[1]),
          weights: weights.pointer, bias: blockBias.isEmpty ? nil : blockBias.baseAddress,
          clamp: clamp, activation: activation.map { Int32(bitPattern: $0.rawValue) } ?? -1,
          staged_h: Int64(stagedHeight), staged_w: Int64(stagedWidth),
          scratch: nil, block_begin: 0, block_end: 0)
        Threads.forEachItem(items, threads: threads) { [buffers] worker, item in
          var task = unsafe args
          unsafe task.scratch = buffers[worker].pointer
          let (image, part) = item.quotientAndRemainder(dividingBy: perImage)
          unsafe task.x = x + image * g.xChannels * plane
          unsafe task.y = y + image * g.yChannels * outPlane
          unsafe task.block_begin = Int64(blocks * part / perImage)
          unsafe task.block_end = Int64(blocks * (part + 1) / perImage)
          unsafe gc_dwlanes(&task)
        }
      }
    }
  }
}
