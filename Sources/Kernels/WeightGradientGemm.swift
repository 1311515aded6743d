import CKernels
import Tensors

/// The weight gradient of dense, pointwise and many-channel grouped convolution as one matrix
/// product per group, reducing over positions, 1-D to 3-D, any stride, dilation and zeros
/// padding:
///
///     dw[o, k] = Σ over n, p of dy[n, o, p] · B[n, k, p]
///
/// with k = (input channel, tap) and p a compute position of `GemmPlan`: B's rows are shifted
/// pieces of x itself (stride 1, no padding: 1×1 convolutions read nothing else) or of the
/// phase planes `gc_gemm_prepare` copies out, so no column matrix is ever formed; dy is
/// packed position-major with zeros at the dropped positions (`gc_wgemm_pack`). The C
/// microkernels keep 6 × 64 to 8 × 16 sums of dwᵀ (input channel and tap × output channels
/// in the lanes) in registers over a block of positions: a broadcast of B and 1 to 4 vector
/// loads of dy per 4 to 1 multiply-adds.
///
/// Loop order of an item (one group, a range of its output channels, a range of its input
/// channels):
///
///     for each of its (sample, stage) steps (a stage: positions whose planes and packed dy
///     fit L2):
///       prepare the stage's phase planes of the item's input channels (unless in place)
///       pack the stage's dy of the item's output channels (and sum it for the bias)
///       for each block of positions (its packed dy fits L1):   (C: gc_wgemm_tiles)
///         for each ≤ 4 vectors of output channels, for each 6 or 8 rows:  microkernel
///
/// Items write disjoint parts of dw (or, when cut into chunks of steps, their own sums, added
/// in chunk order after), so threads take them in any order, and every sum runs in the same
/// order whoever runs it: repeated calls give identical results.
///
/// Accuracy: each sum adds batch × positions products in float, as `DirectWeightGradient`'s
/// do; tests allow absolute 1e-4 plus relative 1e-3.
@safe package final class GemmWeightGradient: WeightGradientKernel, @unchecked Sendable {
  // @unchecked: every property is immutable after init.
  /// A piece of work: output channels `outputs` and input channels `inputs` of `group`, over
  /// the (sample, stage) steps `steps` (sample-major).
  package struct Item {
    var group: Int
    var outputs: Range<Int>
    var inputs: Range<Int>
    var steps: Range<Int>
  }

  private let plan: GemmPlan
  package let items: [Item]
  /// Items per (group, output range, input range): consecutive in `items`, their sums added
  /// in order after the threads finish when there are several.
  package let chunks: Int
  private let stagesPerSample: Int
  /// Floats per packed position of dy: the widest item's output channels, rounded up to 16.
  let lanes: Int
  /// Positions per stage, and per pass of the microkernels over the tiles.
  let stage, block: Int
  /// Floats per prepared phase plane of a stage, none when x is read in place.
  private let planeLength: Int
  private let preparedFloats: Int
  /// The widest item's input channels.
  private let inputsPerItem: Int
  /// B row offsets per item width (input channels), padded with the first.
  private let offsets: [Int: [Int64]]
  private let multiplyAdds, workPerThread: Int
  /// Per thread: the stage's phase planes, its packed dy, the item's sums of dwᵀ and db.
  private let pool = ScratchPool<AlignedBuffer>()
  /// Floats of each thread's scratch buffer.
  private let scratchFloats: Int

  /// The kernel for `geometry`, or `nil` without zeros padding or work.
  /// - Parameters:
  ///   - stageBytes: what a stage's phase planes and packed dy may take.
  ///   - blockBytes: what a block's packed dy may take.
  ///   - workPerThread: the fewest multiply-adds worth another thread.
  ///   - threads: the threads the items are planned for. All four are tuning values; tests
  ///     change them to reach the staged, split and threaded paths on small shapes.
  package init?(
    _ geometry: ConvolutionGeometry, stageBytes: Int = 512 * 1024, blockBytes: Int = 32 * 1024,
    workPerThread: Int = 65_536, threads: Int = Threads.count
  ) {
    let g = geometry
    guard g.paddingMode == .zeros, g.multiplyAdds > 0 else { return nil }
    let plan = GemmPlan(g, threads: threads)
    self.plan = plan
    multiplyAdds = g.multiplyAdds
    self.workPerThread = max(1, workPerThread)

    // Items: two per thread. Preferably narrower output ranges while wider than 32 channels,
    // then more input ranges while each keeps 64 rows (each input range packs dy again, cheap
    // next to its products only then); at least one item per thread. Measured: splitting the
    // inputs of dense3x3 first was 5 % slower, and pointwise_proj in 4 ranges of 36 rows
    // rather than 2 of 72, 15 %.
    let vectors = (plan.yPerGroup + 15) / 16
    var (outputRanges, inputRanges) = ((vectors + 3) / 4, 1)
    let threads = max(1, min(threads, g.multiplyAdds / self.workPerThread))
    let wanted = threads > 1 ? 2 * threads : 1
    while g.groups * outputRanges * inputRanges < wanted {
      if (vectors + outputRanges - 1) / outputRanges > 2 {
        outputRanges += 1
      } else if plan.k / (inputRanges + 1) >= 64 && inputRanges < plan.xPerGroup {
        inputRanges += 1
      } else {
        break
      }
    }
    while g.groups * outputRanges * inputRanges < threads {
      if inputRanges < plan.xPerGroup {
        inputRanges += 1
      } else if outputRanges < vectors {
        outputRanges += 1
      } else {
        break
      }
    }
    lanes = 16 * ((vectors + outputRanges - 1) / outputRanges)
    inputsPerItem = (plan.xPerGroup + inputRanges - 1) / inputRanges

    // A block's packed dy in L1; a stage's planes and packed dy in L2, whole blocks.
    block = max(16, blockBytes / 4 / lanes / 16 * 16)
    let planes = plan.readsInPlace ? 0 : inputsPerItem * plan.phaseCount
    let budget = stageBytes / 4 - planes * (plan.maxOffset + 32)
    let fitting = max(block, budget / (planes + lanes) / block * block)
    stage = min(fitting, (plan.computeCount + block - 1) / block * block)
    stagesPerSample = (plan.computeCount + stage - 1) / stage

    // With few items, each is cut into chunks of (sample, stage) steps, 4 items per thread in
    // all, so that a thread held up on this shared machine leaves little for the others to
    // wait on: the chunks' sums go to their own buffers, added in order afterwards.
    let units = g.groups * outputRanges * inputRanges
    let steps = plan.batch * stagesPerSample
    chunks = threads > 1 ? min(steps, max(1, (4 * threads + units - 1) / units)) : 1
    var items: [Item] = []
    for group in 0..<g.groups {
      for o in 0..<outputRanges {
        let outputs =
          vectors * o / outputRanges * 16..<min(plan.yPerGroup, vectors * (o + 1) / outputRanges * 16)
        for i in 0..<inputRanges {
          let inputs = plan.xPerGroup * i / inputRanges..<plan.xPerGroup * (i + 1) / inputRanges
          for c in 0..<chunks {
            let range = steps * c / chunks..<steps * (c + 1) / chunks
            items.append(Item(group: group, outputs: outputs, inputs: inputs, steps: range))
          }
        }
      }
    }
    self.items = items
    planeLength = plan.readsInPlace ? 0 : GemmPlan.planeLength(stage + plan.maxOffset)
    preparedFloats = planes * planeLength

    var offsets: [Int: [Int64]] = [:]
    for width in Set(items.map(\.inputs.count)) {
      let rows =
        plan.readsInPlace
        ? plan.inPlaceOffsets(channels: width)
        : plan.preparedOffsets(channels: width, planeLength: planeLength)
      offsets[width] = rows + Array(repeating: rows[0], count: Int(GC_WGEMM_MR_MAX) - 1)
    }
    self.offsets = offsets
    let sumRows = inputsPerItem * plan.taps + Int(GC_WGEMM_MR_MAX) - 1
    scratchFloats = preparedFloats + stage * lanes + sumRows * lanes + lanes
  }

  package func weightGradient(
    dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dw: UnsafeMutablePointer<Float>,
    biasGradient db: UnsafeMutablePointer<Float>?
  ) {
    // By default 64 K multiply-adds (a few microseconds) per thread at least, or waking a
    // second thread costs more than it saves.
    let threads = max(1, min(Threads.count, items.count, multiplyAdds / workPerThread))
    // Per item when chunked: its dw block [outputs, rows], then its db [outputs].
    let slot = lanes * (inputsPerItem * plan.taps + 1)
    let partials = chunks > 1 ? AlignedBuffer(count: items.count * slot) : nil
    pool.withBuffers(threads, floats: scratchFloats) { buffers in
      WeightGradientKernels.forEachItem(items.count, lanes: threads) { lane, index in
        let item = items[index]
        let sums = unsafe run(item, dy: dy, x: x, withBias: unsafe db != nil, scratch: buffers[lane].pointer)
        if let partials {
          let target = unsafe partials.pointer + index * slot
          unsafe store(sums, item, dw: target, ldw: item.inputs.count * plan.taps)
          if let bias = unsafe sums.bias {
            let db = unsafe target + item.outputs.count * item.inputs.count * plan.taps
            for o in 0..<item.outputs.count { unsafe db[o] = bias[o] }
          }
          return
        }
        let firstOutput = item.group * plan.yPerGroup + item.outputs.lowerBound
        let target = unsafe dw + firstOutput * plan.k + item.inputs.lowerBound * plan.taps
        unsafe store(sums, item, dw: target, ldw: plan.k)
        if let bias = unsafe sums.bias, let db = unsafe db {
          for o in 0..<item.outputs.count { unsafe db[firstOutput + o] = bias[o] }
        }
      }
    }
    guard let partials else { return }
    // Each unit's chunks, added in order.
    for first in stride(from: 0, to: items.count, by: chunks) {
      let item = items[first]
      let (outputs, rows) = (item.outputs.count, item.inputs.count * plan.taps)
      let firstOutput = item.group * plan.yPerGroup + item.outputs.lowerBound
      for o in 0..<outputs {
        let target = unsafe dw + (firstOutput + o) * plan.k + item.inputs.lowerBound * plan.taps
        for k in 0..<rows {
          var sum: Float = 0
          for c in 0..<chunks { sum += unsafe partials.pointer[(first + c) * slot + o * rows + k] }
          unsafe target[k] = sum
        }
      }
      guard let db = unsafe db, item.inputs.lowerBound == 0 else { continue }
      for o in 0..<outputs {
        var sum: Float = 0
        for c in 0..<chunks {
          sum += unsafe partials.pointer[(first + c) * slot + outputs * rows + o]
        }
        unsafe db[firstOutput + o] = sum
      }
    }
  }

  /// An item's dwᵀ sums written as dw rows: dw[o * ldw + k] = sums[k, o].
  private func store(
    _ sums: (dwT: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>?), _ item: Item,
    dw: UnsafeMutablePointer<Float>, ldw: Int
  ) {
    var args = unsafe gc_wgemm_unpack_args(
      c: sums.dwT, ldc: Int64(lanes), rows: Int64(item.inputs.count * plan.taps),
      channels: Int64(item.outputs.count), dw: dw, ldw: Int64(ldw))
    unsafe gc_wgemm_unpack(&args)
  }

  /// One item's sums over its steps, in scratch: dwᵀ [rows, lanes], and db [lanes] when
  /// `withBias` and the item has the group's first input channels.
  private func run(
    _ item: Item, dy: UnsafePointer<Float>, x: UnsafePointer<Float>, withBias: Bool,
    scratch: UnsafeMutablePointer<Float>
  ) -> (dwT: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>?) {
    let plan = plan
    let planes = unsafe scratch
    let packed = unsafe planes + preparedFloats
    let sums = unsafe packed + stage * lanes
    let rows = item.inputs.count * plan.taps
    let biasSums = unsafe sums + (inputsPerItem * plan.taps + Int(GC_WGEMM_MR_MAX) - 1) * lanes
    let withBias = withBias && item.inputs.lowerBound == 0
    let itemLanes = (item.outputs.count + 15) / 16 * 16
    unsafe biasSums.update(repeating: 0, count: lanes)
    let offsets = offsets[item.inputs.count]!
    for step in item.steps {
      let (n, stageIndex) = step.quotientAndRemainder(dividingBy: stagesPerSample)
      let first = stageIndex * stage
      let xItem = unsafe x
        + (n * plan.xChannels + item.group * plan.xPerGroup + item.inputs.lowerBound) * plan.xPlane
      let dyItem = unsafe dy
        + (n * plan.yChannels + item.group * plan.yPerGroup + item.outputs.lowerBound) * plan.yPlane
      let count = min(stage, plan.computeCount - first)
      let source: UnsafePointer<Float>
      if plan.readsInPlace {
        unsafe source = xItem + first
      } else {
        unsafe plan.prepare(
          xItem, channels: item.inputs.count, from: first, count: count + plan.maxOffset,
          into: planes, planeLength: planeLength)
        unsafe source = UnsafePointer(planes)
      }
      var pack = unsafe gc_wgemm_pack_args(
        a: packed, lda: Int64(lanes), lanes: Int64(itemLanes), dy: dyItem,
        dy_channel_stride: Int64(plan.yPlane), channels: Int64(item.outputs.count),
        p_begin: Int64(first), count: Int64(count), e_h: Int64(plan.eSize[1]),
        e_w: Int64(plan.eSize[2]), y_h: Int64(plan.ySize[1]), y_w: Int64(plan.ySize[2]),
        sums: withBias ? biasSums : nil)
      unsafe gc_wgemm_pack(&pack)
      unsafe offsets.withUnsafeBufferPointer { offsets in
        var tiles = unsafe gc_wgemm_tiles_args(
          a: packed, lda: Int64(lanes), vectors: Int64(itemLanes / 16), src: source,
          koff: offsets.baseAddress, rows: Int64(rows), positions: Int64(count),
          block: Int64(block), c: sums, ldc: Int64(lanes),
          accumulate: step > item.steps.lowerBound ? 1 : 0)
        unsafe gc_wgemm_tiles(&tiles)
      }
    }
    return unsafe (sums, withBias ? biasSums : nil)
  }
}
