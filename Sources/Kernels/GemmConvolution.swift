import CKernels
import Synchronization
import Tensors

/// Convolution as one matrix product per group, for dense, pointwise and many-channel grouped
/// convolutions of any kernel, stride, dilation and zeros padding, 1-D to 3-D.
///
/// Per image and group: Y[o, p] = Σ_k W[o, k] · B[k, p] with o an output channel of the group,
/// k = (input channel, tap) and p a compute position (see `GemmPlan`): B is never formed, each
/// row is a shifted piece of the input: of x itself for stride 1 without padding, else of phase
/// planes that each chunk copies out, with zeros for the padding.
///
/// Loop order of a chunk (one image, group, output-channel range and up to 16 tiles):
///
///     for each K block (channels whose B rows of a tile fit L1):
///       prepare the block's phase planes for the chunk (unless in place)
///       for each 48-position tile:                    (C: gc_gemm_tiles)
///         for each 8 output channels:  8 × 48 microkernel over the K block,
///                                      from the bias (first block) or y (later blocks)
///
/// The weights are packed once, at creation, in 8-row panels interleaved by k:
/// panel[((group · panelsPerGroup + block) · K + k) · 8 + row], zero rows past the group.
/// Threads take chunks in turn; each has its own prepared-plane scratch.
package final class GemmConvolution: ForwardKernel {
  private let plan: GemmPlan
  private let panels: AlignedBuffer
  private let preparedOffsets: [Int64]
  private let inPlaceOffsets: [Int64]
  private let phaseValues: [[Int64]]
  /// Prepared-plane buffers not in use; a thread takes one for a call.
  private let scratch: Mutex<[AlignedBuffer]>

  package init?(_ geometry: ConvolutionGeometry, weight: UnsafeBufferPointer<Float>) {
    guard !geometry.transposed, geometry.paddingMode == .zeros, geometry.multiplyAdds > 0,
      weight.count == geometry.weightShape.reduce(1, *)
    else { return nil }
    let plan = GemmPlan(geometry, threads: Threads.count)
    self.plan = plan
    let (mr, k) = (GemmPlan.mr, plan.k)
    panels = AlignedBuffer(count: plan.groups * plan.panelsPerGroup * k * mr)
    for group in 0..<plan.groups {
      for o in 0..<plan.yPerGroup {
        let panel = group * plan.panelsPerGroup + o / mr
        let source = (group * plan.yPerGroup + o) * k
        for index in 0..<k {
          unsafe panels.pointer[(panel * k + index) * mr + o % mr] = weight[source + index]
        }
      }
    }
    preparedOffsets = plan.preparedOffsets
    inPlaceOffsets = plan.inPlaceOffsets
    phaseValues = plan.phases.map { $0.map(Int64.init) }
    let count = plan.scratchCount
    scratch = Mutex((0..<max(1, Threads.count)).map { _ in AlignedBuffer(count: count) })
  }

  package func forward(
    x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>
  ) {
    let items = plan.itemCount
    let next = Atomic<Int>(0)
    Threads.parallelFor(min(Threads.count, items)) { _ in
      let buffer = scratch.withLock { $0.popLast() } ?? AlignedBuffer(count: plan.scratchCount)
      while true {
        let item = next.wrappingAdd(1, ordering: .relaxed).oldValue
        guard item < items else { break }
        let (image, chunk) = plan.item(item)
        unsafe run(chunk, image: image, x: x, bias: bias, y: y, scratch: buffer)
      }
      scratch.withLock { $0.append(buffer) }
    }
  }

  /// One chunk of one image: every K block, prepared (unless in place) and multiplied.
  private func run(
    _ chunk: GemmPlan.Chunk, image: Int, x: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    y: UnsafeMutablePointer<Float>, scratch: AlignedBuffer
  ) {
    let plan = plan
    let (mr, nr, taps) = (GemmPlan.mr, GemmPlan.nr, plan.taps)
    let pBegin = chunk.tiles.lowerBound * nr
    let pEnd = min(chunk.tiles.upperBound * nr, plan.computeCount)
    let firstOutput = (image * plan.yChannels + chunk.group * plan.yPerGroup + chunk.m.lowerBound)
    let firstPanel = chunk.group * plan.panelsPerGroup + chunk.m.lowerBound / mr
    for block in 0..<plan.blocks {
      let c0 = block * plan.blockChannels
      let channels = min(plan.blockChannels, plan.xPerGroup - c0)
      let xOffset = (image * plan.xChannels + chunk.group * plan.xPerGroup + c0) * plan.xPlane
      let xBlock = unsafe x + xOffset
      let readEnd = xOffset + (channels - 1) * plan.xPlane + chunk.tiles.upperBound * nr
        + plan.maxOffset
      let inPlace = plan.readsInPlace && readEnd <= plan.batch * plan.xChannels * plan.xPlane
      let source: UnsafePointer<Float>
      if inPlace {
        unsafe source = xBlock + pBegin
      } else {
        unsafe prepare(
          xBlock, channels: channels, from: pBegin,
          count: (pEnd - pBegin + 15) / 16 * 16 + plan.maxOffset, into: scratch.pointer)
        unsafe source = UnsafePointer(scratch.pointer)
      }
      let offsets = inPlace ? inPlaceOffsets : preparedOffsets
      unsafe offsets.withUnsafeBufferPointer { offsets in
        var args = unsafe gc_gemm_tiles_args(
          panels: panels.pointer + (firstPanel * plan.k + c0 * taps) * mr,
          panel_stride: Int64(plan.k * mr), m: Int64(chunk.m.count), src: source,
          koff: offsets.baseAddress, kc: Int64(channels * taps), p_begin: Int64(pBegin),
          p_end: Int64(pEnd), e_h: Int64(plan.eSize[1]), e_w: Int64(plan.eSize[2]),
          y_h: Int64(plan.ySize[1]), y_w: Int64(plan.ySize[2]), y: y + firstOutput * plan.yPlane,
          ldy: Int64(plan.yPlane),
          bias: bias.map { unsafe $0 + chunk.group * plan.yPerGroup + chunk.m.lowerBound },
          accumulate: block > 0 ? 1 : 0)
        unsafe gc_gemm_tiles(&args)
      }
    }
  }

  /// Copies positions [first, first + count) of the phase planes of `channels` channels
  /// from x into `planes`.
  private func prepare(
    _ x: UnsafePointer<Float>, channels: Int, from first: Int, count: Int,
    into planes: UnsafeMutablePointer<Float>
  ) {
    let plan = plan
    unsafe phaseValues[0].withUnsafeBufferPointer { pd in
      unsafe phaseValues[1].withUnsafeBufferPointer { ph in
        unsafe phaseValues[2].withUnsafeBufferPointer { pw in
          var args = unsafe gc_gemm_prepare_args(
            dst: planes, block_len: Int64(plan.blockLength), x: x,
            x_channel_stride: Int64(plan.xPlane), channels: Int64(channels),
            x_size: (Int64(plan.xSize[0]), Int64(plan.xSize[1]), Int64(plan.xSize[2])),
            e_h: Int64(plan.eSize[1]), e_w: Int64(plan.eSize[2]),
            stride: (Int64(plan.stride[0]), Int64(plan.stride[1]), Int64(plan.stride[2])),
            pad: (Int64(plan.pad[0]), Int64(plan.pad[1]), Int64(plan.pad[2])),
            phase_count: (Int64(pd.count), Int64(ph.count), Int64(pw.count)),
            phase_values: (pd.baseAddress, ph.baseAddress, pw.baseAddress),
            f_begin: Int64(first), length: Int64(count))
          unsafe gc_gemm_prepare(&args)
        }
      }
    }
  }
}
