import CKernels
import Tensors

/// Convolution as one matrix product per group, for dense, pointwise and many-channel grouped
/// convolutions of any kernel, stride, dilation and zeros padding, 1-D to 3-D.
///
/// Per image and group: Y[o, p] = Σ_k W[o, k] · B[k, p] with o an output channel of the group,
/// k = (input channel, tap) and p a compute position (see `GemmPlan`): B is never formed, each
/// row is a shifted piece of the input: of x itself for stride 1 without padding, else of phase
/// planes that each chunk copies out, with zeros for the padding. When the tiles pack B and
/// the convolution has stride 1 and keeps the row width (a padded 3×3), they gather B from x
/// as they pack it, under masks that stand for the padding (`GemmPlan.gathers`): no planes are
/// prepared, and no dropped columns computed. Measured against preparing the planes (C
/// microbenchmark, one thread, whole image, medians of 100 alternating pairs): 64 → 64
/// channels on 56 × 56 0.93, 128 → 128 on 28 × 28 0.92, 64 → 128 on 28 × 28 0.93 of the time.
///
/// Loop order of a chunk (one image, group, output-channel range and up to 16 tiles):
///
///     for each K block (channels whose B rows of a tile fit L2: GemmPlan.blockLines):
///       prepare the block's phase planes for the chunk (unless in place or gathering)
///       for each 48-position tile:                    (C: gc_gemm_tiles)
///         for each 8 output channels:  8 × 48 microkernel over the K block,
///                                      from the bias (first block) or y (later blocks)
///
/// With enough output channels (GemmPlan.packs), each tile's B rows are first copied into
/// packed blocks of up to 128 rows, which stay in L1 while every 8 output channels read them:
///
///       for each 48-position tile:
///         for each block of up to 128 rows of B:  copy the tile's rows into the pack scratch
///           for each 8 output channels:  8 × 48 microkernel over the packed rows, the sums
///                                        kept in the scratch between blocks
///
/// The weights are packed once, at creation, in 8-row panels interleaved by k:
/// panel[((group · panelsPerGroup + block) · K + k) · 8 + row], zero rows past the group.
/// Threads take chunks in turn; each has its own prepared-plane scratch.
///
/// When an image has few output positions (a 7×7 or 14×14 plane), 48-position tiles would
/// leave many lanes idle; `GemmColumns` then turns the product round (channels in the lanes).
package final class GemmConvolution: FusingForwardKernel {
  private let plan: GemmPlan
  /// The column layout, when it replaces the row kernels.
  private let columns: GemmColumns?
  private let panels: AlignedBuffer
  private let preparedOffsets: [Int64]
  private let inPlaceOffsets: [Int64]
  private let columnOffsets: [Int64]
  private let scratchCount: Int
  /// Whether a pass is too small to share: one thread runs it.
  private let small: Bool
  /// Multiply-adds below which one thread runs the whole pass (about 10 µs): waking a second
  /// thread and sharing the output with it costs more than it saves.
  package static let parallelMultiplyAdds = 1 << 20
  /// Weight bytes from which a pass is shared whatever its work: with few positions (the
  /// 1×1 convolutions of squeeze-and-excitation blocks) it streams its weights, and two
  /// cores stream them faster than one.
  package static let parallelWeightBytes = 1 << 17
  /// Scratch buffers not in use: a call takes one per thread (making more when calls
  /// overlap) and gives them back.
  private let scratch = ScratchPool<GemmScratch>()

  /// - Parameter parallelMultiplyAdds: the work from which passes are shared by threads
  ///   (tests lower it to 0).
  package init?(
    _ geometry: ConvolutionGeometry, weight: UnsafeBufferPointer<Float>,
    parallelMultiplyAdds: Int = GemmConvolution.parallelMultiplyAdds
  ) {
    guard !geometry.transposed, geometry.paddingMode == .zeros, geometry.multiplyAdds > 0,
      weight.count == geometry.weightShape.reduce(1, *)
    else { return nil }
    var plan = GemmPlan(geometry, threads: Threads.count)
    small =
      geometry.multiplyAdds < parallelMultiplyAdds
      && weight.count * MemoryLayout<Float>.stride < Self.parallelWeightBytes
    if let columns = GemmColumns(plan, threads: Threads.count) {
      self.plan = plan
      self.columns = columns
      panels = AlignedBuffer(count: columns.panelCount)
      unsafe columns.pack(weight, into: panels.pointer)
      (preparedOffsets, inPlaceOffsets) = ([], [])
      columnOffsets = columns.offsets
      scratchCount = columns.scratchCount
    } else {
      plan = GemmPlan.gathering(geometry, threads: Threads.count) ?? plan
      self.plan = plan
      columns = nil
      panels = AlignedBuffer(count: plan.panelCount)
      unsafe plan.pack(weight, into: panels.pointer)
      (preparedOffsets, inPlaceOffsets) = (plan.preparedOffsets, plan.inPlaceOffsets)
      columnOffsets = []
      scratchCount = plan.scratchCount
    }
    let count = scratchCount
    scratch.give((0..<max(1, Threads.count)).map { _ in GemmScratch(count: count) })
  }

  /// Whether the column layout (channels in the lanes) computes this convolution.
  package var usesColumns: Bool { columns != nil }

  /// Whether the row kernels copy each tile's B into packed blocks (`GemmPlan.packs`).
  package var packsTiles: Bool { columns == nil && plan.packs }

  /// Whether the row kernels gather each tile's B from x as they pack it (`GemmPlan.gathers`).
  package var gathersTiles: Bool { columns == nil && plan.gathers }

  package var addsToOutput: Bool { true }

  package func forward(
    x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
    clamp: UnsafePointer<Float>?, activation: gc_activation_kind?, adding: Bool
  ) {
    unsafe forward(
      x: x, bias: bias, y: y, clamp: clamp, activation: activation, adding: adding,
      panels: panels.pointer)
  }

  /// Floats of the packed weights, for `scalePanels(by:into:)`.
  package var panelCount: Int { columns?.panelCount ?? plan.panelCount }

  /// The packed weights with every weight that reads input channel c multiplied by
  /// scale[c], into `scaled` (`panelCount` floats, 64-byte aligned): for a convolution of
  /// x · scale, a per-channel gate (squeeze-and-excitation) folded into the weights.
  package func scalePanels(by scale: UnsafePointer<Float>, into scaled: UnsafeMutablePointer<Float>) {
    let (k, taps, xPerGroup) = (plan.k, plan.taps, plan.xPerGroup)
    let (width, perGroup) =
      columns.map { (GemmColumns.nr, $0.blocks) } ?? (GemmPlan.mr, plan.panelsPerGroup)
    let source = unsafe UnsafePointer(panels.pointer)
    for panel in 0..<(plan.groups * perGroup) {
      let firstChannel = panel / perGroup * xPerGroup
      for index in 0..<k {
        let factor = unsafe scale[firstChannel + index / taps]
        let start = (panel * k + index) * width
        for lane in start..<(start + width) { unsafe scaled[lane] = source[lane] * factor }
      }
    }
  }

  /// `forward` with the packed weights `panels`: this kernel's own, or `scalePanels`' result.
  package func forward(
    x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
    clamp: UnsafePointer<Float>?, activation: gc_activation_kind?, adding: Bool,
    panels: UnsafePointer<Float>
  ) {
    let activation = activation.map { Int32(bitPattern: $0.rawValue) } ?? -1
    let items = columns.map { plan.batch * $0.chunks.count } ?? plan.itemCount
    let threads = small ? 1 : min(Threads.count, items)
    // The threads' scratch, taken and given back by the caller alone: the workers never
    // wait on each other for a lock.
    let scratchCount = scratchCount
    scratch.withBuffers(threads, making: { GemmScratch(count: scratchCount) }) { buffers in
      for buffer in buffers { buffer.holds = nil }  // a new x
      // The column layout's chunks go by positions, each thread's share those it wrote in
      // the layer before; the row kernels' chunks go by output channels first, and share
      // best when the threads take neighbouring ones together.
      Threads.forEachItem(items, threads: threads, shares: columns != nil) {
        [buffers] worker, item in
        let scratch = buffers[worker]
        if let columns {
          let (image, chunk) = item.quotientAndRemainder(dividingBy: columns.chunks.count)
          unsafe run(
            columns.chunks[chunk], of: columns, image: image, x: x, bias: bias, y: y,
            clamp: clamp, activation: activation, adding: adding, panels: panels,
            scratch: scratch)
        } else {
          let (image, chunk) = plan.item(item)
          unsafe run(
            chunk, image: image, x: x, bias: bias, y: y, clamp: clamp, activation: activation,
            adding: adding, panels: panels, scratch: scratch.buffer)
        }
      }
    }
  }

  /// One chunk of one image: every K block, prepared (unless in place) and multiplied; the
  /// first from the bias (and y when `adding`), the others from y.
  private func run(
    _ chunk: GemmPlan.Chunk, image: Int, x: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    y: UnsafeMutablePointer<Float>, clamp: UnsafePointer<Float>?, activation: Int32,
    adding: Bool, panels: UnsafePointer<Float>, scratch: AlignedBuffer
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
      let inPlace =
        plan.gathers || (plan.readsInPlace && readEnd <= plan.batch * plan.xChannels * plan.xPlane)
      let source: UnsafePointer<Float>
      if inPlace {
        unsafe source = xBlock + pBegin
      } else {
        unsafe plan.prepare(
          xBlock, channels: channels, from: pBegin,
          count: (pEnd - pBegin + 15) / 16 * 16 + plan.maxOffset, into: scratch.pointer,
          planeLength: plan.blockLength)
        unsafe source = UnsafePointer(scratch.pointer)
      }
      let offsets = inPlace ? inPlaceOffsets : preparedOffsets
      let last = block == plan.blocks - 1
      let bias: UnsafePointer<Float>? =
        block > 0 ? nil : unsafe bias.map { unsafe $0 + chunk.group * plan.yPerGroup + chunk.m.lowerBound }
      unsafe offsets.withUnsafeBufferPointer { offsets in
        unsafe plan.masks.withUnsafeBufferPointer { masks in
          var args = unsafe gc_gemm_tiles_args(
            panels: panels + (firstPanel * plan.k + c0 * taps) * mr,
            panel_stride: Int64(plan.k * mr), m: Int64(chunk.m.count), src: source,
            koff: offsets.baseAddress, kc: Int64(channels * taps), p_begin: Int64(pBegin),
            p_end: Int64(pEnd), e_h: Int64(plan.eSize[1]), e_w: Int64(plan.eSize[2]),
            y_h: Int64(plan.ySize[1]), y_w: Int64(plan.ySize[2]), y: y + firstOutput * plan.yPlane,
            ldy: Int64(plan.yPlane),
            bias: bias, accumulate: block > 0 || adding ? 1 : 0, clamp: last ? clamp : nil,
            activation: last ? activation : -1,
            pack: plan.packs ? scratch.pointer + plan.preparedCount : nil,
            masks: plan.gathers ? masks.baseAddress : nil, taps: Int64(taps),
            mask_vectors: Int64(plan.maskVectors))
          unsafe gc_gemm_tiles(&args)
        }
      }
    }
  }

  /// One chunk of the column layout: the group's planes (prepared unless in place or held
  /// already), each K slice into the sums, the sums transposed into y (added to it when
  /// `adding`).
  private func run(
    _ chunk: GemmColumns.Chunk, of columns: GemmColumns, image: Int, x: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, clamp: UnsafePointer<Float>?,
    activation: Int32, adding: Bool, panels: UnsafePointer<Float>, scratch: GemmScratch
  ) {
    let plan = plan
    let nr = GemmColumns.nr
    let planes = unsafe scratch.buffer.pointer
    let sums = unsafe planes + columns.planesCount
    let biasBlock = unsafe sums + columns.sumsCount
    let xGroup = unsafe x + (image * plan.xChannels + chunk.group * plan.xPerGroup) * plan.xPlane
    var source = unsafe xGroup
    if !plan.readsInPlace {
      if scratch.holds?.image != image || scratch.holds?.group != chunk.group {
        unsafe plan.prepare(
          xGroup, channels: plan.xPerGroup, from: 0,
          count: plan.computeCount + plan.maxOffset, into: planes,
          planeLength: columns.planeLength)
        scratch.holds = (image, chunk.group)
      }
      unsafe source = UnsafePointer(planes)
    }
    let firstChannel = chunk.group * plan.yPerGroup + chunk.block * nr
    let channels = min(nr, plan.yPerGroup - chunk.block * nr)
    if let bias = unsafe bias {
      for c in 0..<nr { unsafe biasBlock[c] = c < channels ? bias[firstChannel + c] : 0 }
    }
    let panel = unsafe panels + (chunk.group * columns.blocks + chunk.block) * plan.k * nr
    unsafe columnOffsets.withUnsafeBufferPointer { offsets in
      for k0 in stride(from: 0, to: plan.k, by: GemmColumns.kc) {
        var args = unsafe gc_gemm_columns_args(
          panel: panel + k0 * nr, src: source, koff: offsets.baseAddress! + k0,
          kc: Int64(min(GemmColumns.kc, plan.k - k0)),
          q_begin: Int64(chunk.positions.lowerBound), q_end: Int64(chunk.positions.upperBound),
          e_h: Int64(plan.eSize[1]), e_w: Int64(plan.eSize[2]), y_h: Int64(plan.ySize[1]),
          y_w: Int64(plan.ySize[2]), t: sums, bias: bias == nil ? nil : UnsafePointer(biasBlock),
          accumulate: k0 > 0 ? 1 : 0, vectors: Int32((channels + 15) / 16))
        unsafe gc_gemm_columns(&args)
      }
    }
    let output = unsafe y + (image * plan.yChannels + firstChannel) * plan.yPlane
      + chunk.positions.lowerBound
    unsafe gc_gemm_transpose(
      sums, Int64(nr), Int64(chunk.positions.count), Int64(channels), output,
      Int64(plan.yPlane), clamp, adding ? 1 : 0, activation)
  }
}

/// A thread's scratch for one call: prepared planes (and, for the column layout, sums), and
/// which image and group's planes it holds.
final class GemmScratch: @unchecked Sendable {  // one thread at a time: taken from the pool
  let buffer: AlignedBuffer
  var holds: (image: Int, group: Int)?
  init(count: Int) { buffer = AlignedBuffer(count: count) }
}
