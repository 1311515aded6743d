import CKernels
import Tensors

/// The weight gradient of depthwise and grouped convolutions with many groups, 16 groups per
/// vector: the C kernel (`gc_wgrad_lanes_accumulate`) transposes 16 groups' dy and
/// zero-padded x so that each vector holds one position of 16 groups; then every (output
/// channel, input channel, tap) sum is one vector whose lanes are the 16 groups' dw. Nothing
/// is copied or summed horizontally per channel, which on 7 x 7 planes would cost more than
/// the multiply-adds, and any stride or dilation is a constant offset.
///
/// 1-D and 2-D planes go in bands of output rows sized to stay in L2. Threads take (block
/// of 16 groups, band) items; a block's bands are added in order and its batch runs in
/// order, so repeated calls give identical results whichever thread ran what.
@safe package final class LaneWeightGradient: WeightGradientKernel, @unchecked Sendable {
  // @unchecked: `plan` points into the tables, which this object owns and never changes
  // after init.
  private let geometry: ConvolutionGeometry
  private let plan: UnsafeMutablePointer<gc_wgrad_lanes_plan>
  private let tables: UnsafeMutablePointer<Int>
  private let scratchCount: Int
  private let workPerThread: Int
  /// Per thread: the transposed band, then the 16-lane sums of dw and db.
  private let pool = ScratchPool<AlignedBuffer>()
  /// Floats of each thread's scratch buffer.
  private let scratchFloats: Int

  /// Floats a thread's transposed band may take (dy^T and x^T of 16 groups): 1 MB.
  static let maximumScratch = 1 << 18

  /// The kernel for `geometry`, or `nil` outside its regime: 1 to 8 input channels per
  /// group, zeros padding, and (3-D) a transposed plane within `maximumScratch`.
  /// `WeightGradientKernels.make` chooses it for 16 groups or more.
  /// - Parameters:
  ///   - bandBytes: what a band's transposed dy and x may take.
  ///   - workPerThread: the fewest multiply-adds worth another thread. Both are tuning
  ///     values; tests shrink them to reach the banded and threaded paths on small shapes.
  package init?(
    _ geometry: ConvolutionGeometry, bandBytes: Int = 256 * 1024, workPerThread: Int = 65_536
  ) {
    let l = Loops(geometry)
    let padEnd = Array(repeating: 0, count: 3 - geometry.spatialRank) + geometry.padEnd
    let padded = (
      d: l.x.d + l.pad.d + padEnd[0], h: l.x.h + l.pad.h + padEnd[1],
      w: l.x.w + l.pad.w + padEnd[2]
    )
    let xPlane = l.x.d * l.x.h * l.x.w
    let taps = l.k.d * l.k.h * l.k.w
    let rows = l.y.d * l.y.h
    // Bands of output rows, 2-D and 1-D only: a band of r rows reads
    // (r - 1) * stride + (k - 1) * dilation + 1 padded rows.
    let reach = (l.k.h - 1) * l.dilation.h + 1
    let bandRows: Int
    if geometry.spatialRank == 3 {
      bandRows = rows
    } else {
      let rowFloats = 16 * (l.yPerGroup * l.y.w + l.xPerGroup * l.stride.h * padded.w)
      let haloFloats = 16 * l.xPerGroup * (reach - l.stride.h) * padded.w
      bandRows = min(rows, max(1, (bandBytes / 4 - haloFloats) / rowFloats))
    }
    let windowRows = (bandRows - 1) * l.stride.h + reach
    let window = bandRows < rows ? windowRows * padded.w : padded.d * padded.h * padded.w
    let scratch = 16 * (l.yPerGroup * bandRows * l.y.w + l.xPerGroup * window)
    guard geometry.paddingMode == .zeros, geometry.multiplyAdds > 0,
      (1...DirectWeightGradient.maximumInputChannelsPerGroup).contains(l.xPerGroup),
      l.yPerGroup * l.xPerGroup * taps <= DirectWeightGradient.maximumSumsPerGroup,
      scratch <= Self.maximumScratch
    else { return nil }
    self.geometry = geometry
    self.workPerThread = max(1, workPerThread)

    // The tables: each x element's padded position, each output row's first read, each
    // tap's offset (in floats); positions count from the padded plane's first element.
    unsafe tables = .allocate(capacity: xPlane + rows + taps)
    var index = 0
    for z in 0..<l.x.d { for y in 0..<l.x.h { for x in 0..<l.x.w {
      unsafe tables[index] = ((z + l.pad.d) * padded.h + y + l.pad.h) * padded.w + x + l.pad.w
      index += 1
    } } }
    for z in 0..<l.y.d { for y in 0..<l.y.h {
      unsafe tables[index] = (z * l.stride.d * padded.h + y * l.stride.h) * padded.w
      index += 1
    } }
    for z in 0..<l.k.d { for y in 0..<l.k.h { for x in 0..<l.k.w {
      unsafe tables[index] =
        16 * ((z * l.dilation.d * padded.h + y * l.dilation.h) * padded.w + x * l.dilation.w)
      index += 1
    } } }
    // The kernels take rows in chunks whose dy^T and x^T rows (about) fit in 32 KB of L1.
    let chunkRowBytes = 64 * (l.yPerGroup * l.y.w + l.xPerGroup * l.stride.h * padded.w)
    let chunkRows = max(1, 32 * 1024 / chunkRowBytes)
    unsafe plan = .allocate(capacity: 1)
    unsafe plan.initialize(
      to: gc_wgrad_lanes_plan(
        x_plane: xPlane, y_plane: l.y.d * l.y.h * l.y.w, x_per_group: l.xPerGroup,
        y_per_group: l.yPerGroup, x_position: tables, rows: rows, row_base: tables + xPlane,
        row_length: l.y.w, step: l.stride.w, taps: taps, tap_offset: tables + xPlane + rows,
        band_rows: bandRows, window: window, window_rows: windowRows, x_rows: l.x.h,
        x_row_length: l.x.w, padded_width: padded.w, pad_top: l.pad.h, pad_left: l.pad.w,
        row_stride: l.stride.h,
        chunk_rows: chunkRows))
    scratchCount = unsafe gc_wgrad_lanes_scratch_count(plan)
    precondition(scratchCount == scratch)
    let sums = l.yPerGroup * l.xPerGroup * taps
    scratchFloats = scratch + 16 * (sums + l.yPerGroup)
  }

  deinit {
    unsafe plan.deallocate()
    unsafe tables.deallocate()
  }

  package func weightGradient(
    dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dw: UnsafeMutablePointer<Float>,
    biasGradient db: UnsafeMutablePointer<Float>?
  ) {
    let g = geometry
    let (groups, batch) = (g.groups, g.batch)
    let (inputs, outputs) = (g.xChannels / groups, g.yChannels / groups)
    let sums = outputs * inputs * g.kernel.reduce(1, *)
    let xStep = inputs * g.xSize.reduce(1, *)
    let yStep = outputs * g.ySize.reduce(1, *)
    let blocks = (groups + 15) / 16
    let (rows, bandRows) = unsafe (plan.pointee.rows, plan.pointee.band_rows)
    // By default 64 K multiply-adds (a few microseconds) per thread at least, or waking a
    // second thread costs more than it saves.
    let threads = max(1, min(Threads.count, g.multiplyAdds / workPerThread))
    // Bands: as many as the scratch needs, and when the plane is banded at all, more to
    // give each thread 4 items. (A plan of one band transposes whole planes, and never
    // bands: the two would leave each other's data in the padding.)
    var bands = 1
    if bandRows < rows {
      let wanted = min(rows, (4 * threads + blocks - 1) / blocks)
      bands = max((rows + bandRows - 1) / bandRows, wanted)
    }
    let items = blocks * bands
    let threadCount = min(threads, items)

    // With bands, each item's sums, added up per block in band order afterwards.
    let accCount = sums * 16
    let itemStride = accCount + outputs * 16
    let itemSums = bands > 1 ? AlignedBuffer(count: items * itemStride) : nil

    pool.withBuffers(threadCount, floats: scratchFloats) { buffers in
      WeightGradientKernels.forEachItem(items, lanes: threadCount) { lane, item in
        let scratch = unsafe buffers[lane].pointer
        let (block, band) = item.quotientAndRemainder(dividingBy: bands)
        let first = block * 16
        let lanes = min(16, groups - first)
        let acc =
          if let itemSums { unsafe itemSums.pointer + item * itemStride } else {
            unsafe scratch + scratchCount
          }
        unsafe acc.update(repeating: 0, count: itemStride)
        for n in 0..<batch {
          let sampleGroup = n * groups + first
          unsafe gc_wgrad_lanes_accumulate(
            plan, dy + sampleGroup * yStep, x + sampleGroup * xStep, lanes,
            band * rows / bands, (band + 1) * rows / bands, acc,
            db == nil ? nil : acc + accCount, scratch)
        }
        if bands == 1 { unsafe scatter(acc, block: block, sums: sums, dw: dw, db: db) }
      }
    }
    guard let itemSums else { return }
    for block in 0..<blocks {
      let total = unsafe itemSums.pointer + block * bands * itemStride
      for band in 1..<bands {
        let partial = unsafe total + band * itemStride
        for j in 0..<itemStride { unsafe total[j] += partial[j] }
      }
      unsafe scatter(total, block: block, sums: sums, dw: dw, db: db)
    }
  }

  /// Writes a block's lane sums out: lane l of sum j is dw[16 * block + l][j], and of the
  /// bias sums db's likewise.
  private func scatter(
    _ acc: UnsafeMutablePointer<Float>, block: Int, sums: Int, dw: UnsafeMutablePointer<Float>,
    db: UnsafeMutablePointer<Float>?
  ) {
    let outputs = geometry.yChannels / geometry.groups
    let first = block * 16
    let lanes = min(16, geometry.groups - first)
    unsafe gc_wgrad_lanes_store(acc, sums, lanes, dw + first * sums)
    if let db = unsafe db {
      unsafe gc_wgrad_lanes_store(acc + sums * 16, outputs, lanes, db + first * outputs)
    }
  }
}
