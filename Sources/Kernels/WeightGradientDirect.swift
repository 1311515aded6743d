import CKernels
import Tensors

/// The weight gradient of depthwise (any multiplier) and few-channel grouped convolution
/// with fewer than 16 groups (more go to `LaneWeightGradient`), 1-D to 3-D, by the staged
/// correlation of `gc_wgrad.h`: per (sample, group) the C kernel copies x into stride-free
/// phase planes and dy into rows of the same width, then accumulates every (output channel,
/// input channel, tap) sum in 16 lanes, added horizontally once per group.
///
/// Threads split the groups when there are enough (each group's dw is then written by one
/// thread); otherwise they split (sample, group, block of rows), and each item's sums are
/// added in item order afterwards. Either way the sums run in an order fixed by the thread
/// count, not by which thread ran what: repeated calls give identical results.
///
/// Accuracy: sums run over batch × output positions (thousands of terms) in float, in 16
/// lanes per block of rows. Against the `Double` reference the error grows with the number
/// of terms while random-signed sums stay small, so tests allow absolute 1e-4 plus relative
/// 1e-3 rather than float32's 1e-5 + 1e-4.
@safe package final class DirectWeightGradient: WeightGradientKernel, @unchecked Sendable {
  // @unchecked: `plan` points into `phases` and `tapOffsets`, which this object owns and
  // never changes after init.
  private let geometry: ConvolutionGeometry
  private let layout: WeightGradientLayout
  private let plan: UnsafeMutablePointer<gc_wgrad_plan>
  private let phases: UnsafeMutablePointer<Int>
  private let tapOffsets: UnsafeMutablePointer<Int>
  private let workPerThread: Int
  /// Groups per C call when threads split the groups, their sums added horizontally
  /// together: up to 64 KB of them.
  private let callGroups: Int
  /// Per thread: the staging scratch, then `callGroups` groups' lane sums of dw and db.
  private let pool = ScratchPool<AlignedBuffer>()
  /// Floats of each thread's scratch buffer.
  private let scratchFloats: Int
  /// Floats of the staging scratch at the start of each buffer, rounded up to whole vectors:
  /// the sums follow it, 64-byte aligned.
  private let stagingFloats: Int

  /// Input channels per group this kernel takes; more belong to the GEMM kernels.
  static let maximumInputChannelsPerGroup = 8
  /// The largest (outputs × inputs × taps) per group: 16 lane sums each stay in L2.
  static let maximumSumsPerGroup = 16_384

  /// The kernel for `geometry`, or `nil` outside its regime: 1 to 8 input channels per
  /// group, zeros padding.
  /// - Parameters:
  ///   - blockBytes: the staged rows of one block of a group (see `WeightGradientLayout`).
  ///   - workPerThread: the fewest multiply-adds worth another thread. Both are tuning
  ///     values; tests shrink them to reach the blocked and threaded paths on small shapes.
  package init?(
    _ geometry: ConvolutionGeometry, blockBytes: Int = 40 * 1024, workPerThread: Int = 65_536
  ) {
    let xPerGroup = geometry.xChannels / geometry.groups
    let yPerGroup = geometry.yChannels / geometry.groups
    let sums = yPerGroup * xPerGroup * geometry.kernel.reduce(1, *)
    guard geometry.paddingMode == .zeros, geometry.multiplyAdds > 0,
      (1...Self.maximumInputChannelsPerGroup).contains(xPerGroup),
      sums <= Self.maximumSumsPerGroup
    else { return nil }
    self.geometry = geometry
    let layout = WeightGradientLayout(geometry, cacheBytes: blockBytes)
    self.layout = layout
    self.workPerThread = max(1, workPerThread)
    callGroups = max(1, min(geometry.groups, 1024 / sums))
    stagingFloats = (layout.scratchCount + 15) / 16 * 16
    scratchFloats = stagingFloats + callGroups * (sums + yPerGroup) * 16
    unsafe phases = .allocate(capacity: layout.phases.count)
    unsafe phases.initialize(from: layout.phases, count: layout.phases.count)
    unsafe tapOffsets = .allocate(capacity: layout.taps)
    unsafe tapOffsets.initialize(from: layout.tapOffsets, count: layout.taps)
    let l = Loops(geometry)
    unsafe plan = .allocate(capacity: 1)
    unsafe plan.initialize(
      to: gc_wgrad_plan(
        x_size: (l.x.d, l.x.h, l.x.w), y_size: (l.y.d, l.y.h, l.y.w),
        stride: (l.stride.d, l.stride.h, l.stride.w), pad: (l.pad.d, l.pad.h, l.pad.w),
        x_per_group: xPerGroup, y_per_group: yPerGroup, phase_depth: layout.phaseDepth,
        phase_height: layout.phaseHeight, row_width: layout.rowWidth,
        phases: layout.phaseCount, phase: phases, taps: layout.taps, tap_offset: tapOffsets,
        halo_rows: layout.haloRows, block_rows: layout.blockRows,
        phase_stride: layout.phaseStride, dy_stride: layout.dyStride))
    precondition(unsafe gc_wgrad_scratch_count(plan) == layout.scratchCount)
  }

  deinit {
    unsafe plan.deallocate()
    unsafe phases.deallocate()
    unsafe tapOffsets.deallocate()
  }

  package func weightGradient(
    dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dw: UnsafeMutablePointer<Float>,
    biasGradient db: UnsafeMutablePointer<Float>?
  ) {
    let g = geometry
    let (groups, batch, outputs, rows) = (g.groups, g.batch, layout.yPerGroup, layout.rows)
    let sums = outputs * layout.xPerGroup * layout.taps
    let xStep = layout.xPerGroup * g.xSize.reduce(1, *)
    let yStep = outputs * g.ySize.reduce(1, *)

    // By default 64 K multiply-adds (a few microseconds) per thread at least, or waking a
    // second thread costs more than it saves.
    let threads = max(1, min(Threads.count, g.multiplyAdds / workPerThread))
    // Split rows too when groups alone cannot give every thread several items.
    let splitRows = threads > 1 && groups < 4 * threads
    let rowChunks =
      splitRows ? min(rows, (4 * threads + groups * batch - 1) / (groups * batch)) : 1
    // Unsplit, an item is a range of groups: 8 per thread balance the load.
    let items = splitRows ? groups * batch * rowChunks : min(groups, 8 * threads)
    // Split, each item's dw and db, added up afterwards in item order.
    let itemStride = sums + outputs
    let itemSums = splitRows ? AlignedBuffer(count: items * itemStride) : nil
    let accCount = callGroups * sums * 16

    pool.withBuffers(threads, floats: scratchFloats) { buffers in
      WeightGradientKernels.forEachItem(items, lanes: threads) { lane, item in
        let scratch = unsafe buffers[lane].pointer
        let acc = unsafe scratch + stagingFloats
        let biasAcc = unsafe db == nil ? nil : acc + accCount
        if let itemSums {
          // Items are (sample, group, chunk of rows), chunks fastest.
          let (sampleGroup, chunk) = item.quotientAndRemainder(dividingBy: rowChunks)
          let result = unsafe itemSums.pointer + item * itemStride
          unsafe acc.update(repeating: 0, count: sums * 16)
          unsafe biasAcc?.update(repeating: 0, count: outputs * 16)
          unsafe gc_wgrad_accumulate(
            plan, dy + sampleGroup * yStep, x + sampleGroup * xStep, 1,
            chunk * rows / rowChunks, (chunk + 1) * rows / rowChunks, acc, biasAcc, scratch)
          unsafe gc_wgrad_reduce(acc, sums, result, 0)
          if let biasAcc = unsafe biasAcc {
            unsafe gc_wgrad_reduce(biasAcc, outputs, result + sums, 0)
          }
          return
        }
        var first = item * groups / items
        let end = (item + 1) * groups / items
        while first < end {
          let count = min(callGroups, end - first)
          unsafe acc.update(repeating: 0, count: count * sums * 16)
          unsafe biasAcc?.update(repeating: 0, count: count * outputs * 16)
          for n in 0..<batch {
            let sampleGroup = n * groups + first
            unsafe gc_wgrad_accumulate(
              plan, dy + sampleGroup * yStep, x + sampleGroup * xStep, count, 0, rows, acc,
              biasAcc, scratch)
          }
          unsafe gc_wgrad_reduce(acc, count * sums, dw + first * sums, 0)
          if let biasAcc = unsafe biasAcc, let db = unsafe db {
            unsafe gc_wgrad_reduce(biasAcc, count * outputs, db + first * outputs, 0)
          }
          first += count
        }
      }
    }
    guard let itemSums else { return }
    unsafe dw.update(repeating: 0, count: groups * sums)
    unsafe db?.update(repeating: 0, count: g.yChannels)
    for item in 0..<items {
      let group = item / rowChunks % groups
      let result = unsafe itemSums.pointer + item * itemStride
      for j in 0..<sums { unsafe dw[group * sums + j] += result[j] }
      if let db = unsafe db {
        for o in 0..<outputs { unsafe db[group * outputs + o] += result[sums + o] }
      }
    }
  }
}
