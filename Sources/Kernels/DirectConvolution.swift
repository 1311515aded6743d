import CKernels
import Tensors

/// Direct convolution for depthwise convolutions (any channel multiplier), grouped
/// convolutions with few input channels per group, and dense convolutions with few
/// multiply-adds per output on large planes (a network's stem, 1×1 expansions of 16 or 24
/// channels), NCHW (and NCW, NCDHW), vectorised along the output width.
///
/// Work item: (image, group, output depth, band of output rows). The C kernel stages the
/// input rows a band reads into a zero-padded, 64-byte-aligned scratch buffer (each row split
/// into `stride` phase rows, so every tap is a unit-stride load at a fixed offset), then
/// accumulates tiles of output channels × output rows × 16-column vectors in registers,
/// starting from the bias, and stores them with masked tails. Weights are packed once here in
/// the order the tiles read them: [group][channel block][input channel][kd][kh][kw][channel].
@safe package final class DirectConvolution: FusingForwardKernel, @unchecked Sendable {
  /// The largest number of input channels per group taken by the direct kernel; more, and
  /// matrix multiplication wins.
  package static let maximumInputChannelsPerGroup = 8
  /// The most multiply-adds per output (input channels × taps, the matrix product's K) of
  /// a dense convolution (one group) the direct kernel takes, on planes of at least
  /// `minimumDensePlane` outputs: any with K up to `maximumDenseReduction` (1×1 expansions
  /// of 16 or 24 channels: 20–30 % faster here, alone and in MobileNetV2), and those of up
  /// to `maximumInputChannelsPerGroup` channels with K up to `maximumStemReduction` (a
  /// stem's 3 channels × 3×3 or 4×4: 20–35 % faster). The matrix product's 8 × 48 tiles
  /// spend nearly as long storing as summing such a short K. From K = 32 to 48 the two were
  /// even alone, and the direct kernel lost by up to 35 % inside EfficientNet; from K = 64
  /// (1×1) or 147 (a 7×7 stem) on, the matrix product is as fast or faster.
  package static let maximumDenseReduction = 24
  package static let maximumStemReduction = 127
  /// Output positions per image from which dense convolutions may take the direct kernel:
  /// on smaller planes (squeeze-and-excitation's 1 × 1) its vectors along a row leave most
  /// lanes idle.
  package static let minimumDensePlane = 256
  /// The widest row or column stride taken: each staged row is split into `stride` phase
  /// rows and a band stages `stride` input rows per output row, so the scratch grows with
  /// the stride whatever the kernel reads (a stride of 10^8 asked for 83 GB).
  package static let maximumStride = 8
  /// The most floats of scratch per thread: a band stages at least `(kernel − 1) · dilation
  /// + 1` input rows, so huge dilations (a transposed convolution's zero-inserted input with
  /// dilations of 16000) would stage gigabytes.
  package static let maximumScratch = 1 << 24

  /// Choices a kernel is made with. The defaults serve everyone; tests change them per kernel
  /// (never through globals, which other suites running at the same time also read).
  package struct Options: Sendable {
    /// Floats of staged input per work item (about 24 KiB, to stay in L1 with room to
    /// spare). Tests lower it to exercise bands of rows.
    package var stagingBudget = 6 * 1024
    /// Estimated cycles of work (see `cost`) below which one thread runs the whole pass
    /// (about 15 µs): a second thread costs more than it saves. Tests lower it to 0.
    package var parallelWorkThreshold = 50_000
    /// Threads for a pass; `nil`: `Threads.count`.
    package var threads: Int?
    /// The instruction set: `nil` for the run-time choice (`gc_isa`); tests force one
    /// (`GC_DIRECT_ISA_GENERIC`, `GC_DIRECT_ISA_AVX2`, `GC_DIRECT_ISA_AVX512`) without
    /// touching that global.
    package var isa: Int?
    /// Bytes of output (the whole batch) from which whole aligned vectors are stored past
    /// the caches, or nil for never: the last-level cache's size. An output that outgrows
    /// that cache leaves it before it is read; written through it, each of its lines is
    /// first read from memory. Tests lower it to 0.
    package var streamingBytes = Machine.lastLevelCacheBytes
    package init() {}
  }

  private let plan: gc_direct_plan
  private let weights: AlignedBuffer
  private let taps: [Int]
  private let columnOffsets: [Int]
  private let items: Int
  private let scratchCount: Int
  /// Estimated cycles of one forward pass on one thread, to decide whether threads pay off:
  /// the vector FMAs the tiles issue (about 1.5 a cycle) and a few hundred cycles per work
  /// item for staging and calls.
  private let cost: Int
  private let options: Options
  /// Scratch buffers of finished calls, reused by the next (one per thread of a call).
  private let scratchPool = ScratchPool<AlignedBuffer>()

  /// `nil` for geometries this kernel does not take: transposed or non-zero padding modes,
  /// more than `maximumInputChannelsPerGroup` input channels per group, a row or column
  /// stride above `maximumStride`, or a dense
  /// convolution (several input channels and a single group) of more multiply-adds per
  /// output than `maximumDenseReduction` (`maximumStemReduction` for a few channels) or
  /// with fewer than `minimumDensePlane` outputs per image.
  package init?(
    _ geometry: ConvolutionGeometry, weight: UnsafeBufferPointer<Float>,
    options: Options = Options()
  ) {
    let g = geometry
    guard !g.transposed, g.paddingMode == .zeros, (1...3).contains(g.spatialRank),
      g.groups > 0, g.batch > 0
    else { return nil }
    let cin = g.xChannels / g.groups
    let cout = g.yChannels / g.groups
    let reduction = cin * g.kernel.reduce(1, *)
    let fewInputs = cin <= Self.maximumInputChannelsPerGroup
    let taken =
      g.groups > 1
      ? fewInputs
      : g.ySize.reduce(1, *) >= Self.minimumDensePlane
        && (reduction <= Self.maximumDenseReduction
          || (fewInputs && reduction <= Self.maximumStemReduction))
    guard cin >= 1, cout >= 1, cin == 1 || taken else { return nil }
    func extent(_ values: [Int], _ fill: Int) -> (Int, Int, Int) {
      let v = Array(repeating: fill, count: 3 - values.count) + values
      return (v[0], v[1], v[2])
    }
    let (xd, xh, xw) = extent(g.xSize, 1)
    let (yd, yh, yw) = extent(g.ySize, 1)
    let (kd, kh, kw) = extent(g.kernel, 1)
    let (sd, sh, sw) = extent(g.stride, 1)
    let (dd, dh, dw) = extent(g.dilation, 1)
    let (pd, ph, pw) = extent(g.padBegin, 0)
    guard yd > 0, yh > 0, yw > 0, xw > 0, sh <= Self.maximumStride, sw <= Self.maximumStride
    else { return nil }

    // Tile shape.
    let vectors = (yw + 15) / 16
    let sliding =
      cin == 1 && kd == 1 && kh == kw && [3, 5, 7].contains(kh) && dh == 1 && (1...2).contains(sh)
      && cout <= 2 && yh > 1
    // AVX2's 16 registers hold a quarter of AVX-512's 32 accumulators of 16 lanes.
    let isa = Int(gc_direct_isa_level(options.isa ?? Int(GC_DIRECT_ISA_AUTOMATIC)))
    let tile = Self.chooseTile(
      sliding: sliding, cout: cout, vectors: vectors, rows: yh,
      accumulators: isa == Int(GC_ISA_AVX2) ? 6 : 24)
    let chunks = (vectors + tile.vecs - 1) / tile.vecs
    let ocblocks = (cout + tile.ocb - 1) / tile.ocb

    // Staged row layout: padded column c of phase f sits at shift + c / sw.
    let firstColumn = (pw + sw - 1) / sw
    let shift = (16 - firstColumn % 16) % 16
    let lastRead = chunks * tile.vecs * 16 - 1 + (kw - 1) * dw / sw
    var extentNeeded = lastRead + 1
    for f in 0..<sw {
      let j0 = pw > f ? (pw - f + sw - 1) / sw : 0
      let e = j0 * sw + f - pw
      let n = xw > e ? (xw - e + sw - 1) / sw : 0
      extentNeeded = max(extentNeeded, j0 + n)
    }
    let pitch = (shift + extentNeeded + 15) / 16 * 16

    // Bands of output rows: as many as keep the staged rows in L1 (about 24 KiB), a multiple
    // of the tile's rows.
    func stagedRows(_ band: Int) -> Int {
      let allocated = (band + tile.rows - 1) / tile.rows * tile.rows
      return (allocated - 1) * sh + (kh - 1) * dh + 1
    }
    let budget = options.stagingBudget
    var band = (yh + tile.rows - 1) / tile.rows * tile.rows
    while band > tile.rows && cin * kd * sw * stagedRows(band) * pitch > budget {
      band -= tile.rows
    }
    band = min(band, yh)
    let bands = (yh + band - 1) / band
    let stagedRowCount = stagedRows(band)
    let plane = sw * stagedRowCount * pitch

    // Weights: [groups][ocblocks][cin][kd][kh][kw][ocb], zero past the group's channels.
    let taps = cin * kd * kh * kw
    let packed = AlignedBuffer(count: g.groups * ocblocks * taps * tile.ocb)
    for group in 0..<g.groups {
      for block in 0..<ocblocks {
        for tap in 0..<taps {
          for o in 0..<tile.ocb where block * tile.ocb + o < cout {
            let channel = group * cout + block * tile.ocb + o
            unsafe packed.pointer[((group * ocblocks + block) * taps + tap) * tile.ocb + o] =
              weight[channel * taps + tap]
          }
        }
      }
    }
    // Staged offset of each tap (ci, kz, ky, kx), and of each column tap.
    var tapOffsets = [Int]()
    tapOffsets.reserveCapacity(taps)
    var columnOffsets = [Int]()
    for kx in 0..<kw {
      columnOffsets.append((kx * dw % sw) * stagedRowCount * pitch + shift + kx * dw / sw)
    }
    for ci in 0..<cin {
      for kz in 0..<kd {
        for ky in 0..<kh {
          for kx in 0..<kw {
            tapOffsets.append((ci * kd + kz) * plane + ky * dh * pitch + columnOffsets[kx])
          }
        }
      }
    }

    let index = gc_direct_tile_index(
      sliding ? Int(GC_DIRECT_SLIDING) : Int(GC_DIRECT_TAPS), tile.ocb, tile.rows, tile.vecs,
      sliding ? kh : 0, sliding ? sh : 0)
    guard index >= 0 else { return nil }

    self.options = options
    self.weights = packed
    self.taps = tapOffsets
    self.columnOffsets = columnOffsets
    self.items = g.batch * g.groups * yd * bands
    let rowsComputed = (band + tile.rows - 1) / tile.rows * tile.rows
    let vectorFMAs = ocblocks * tile.ocb * rowsComputed * chunks * tile.vecs * taps
    self.cost = self.items * (vectorFMAs * 2 / 3 + 300)
    // 3 x 3 depthwise, strides 1 or 2 (the same both ways): the AVX-512 tiles read x's rows
    // where they are (masked at the row's ends) instead of staged copies, when the vectors
    // between a chunk's first and last lie inside the row.
    // The last input column the middle vectors of the last chunk read.
    let lastMiddle = sw * (chunks * tile.vecs - 1) * 16 - 1 + (kw - 1) * dw - pw
    let directRows =
      sliding && kh == 3 && sh == sw && dw == 1 && pw <= 16
      && (tile.vecs < 3 || lastMiddle < xw)
    var plan = unsafe gc_direct_plan(
      batch: g.batch, groups: g.groups, cin: cin, cout: cout, xd: xd, xh: xh, xw: xw, yd: yd,
      yh: yh, yw: yw, kd: kd, kh: kh, kw: kw, sd: sd, sh: sh, sw: sw, dd: dd, dh: dh, dw: dw,
      pd: pd, ph: ph, pw: pw, band: band, bands: bands, ocb: tile.ocb, ocblocks: ocblocks,
      rows: tile.rows, vecs: tile.vecs, chunks: chunks, pitch: pitch,
      staged_rows: stagedRowCount, shift: shift, plane: plane, ntaps: taps, tile: index,
      isa: options.isa ?? Int(GC_DIRECT_ISA_AUTOMATIC), direct_rows: directRows ? 1 : 0,
      stream: options.streamingBytes.map { g.yShape.reduce(1, *) * 4 >= $0 } ?? false ? 1 : 0,
      weight: nil, taps: nil, koff: nil, clamp: nil, activation: -1)
    scratchCount = unsafe gc_direct_scratch_count(&plan)
    unsafe self.plan = plan
    guard scratchCount <= Self.maximumScratch else { return nil }
  }

  /// The tile for a group of `cout` output channels and rows of `vectors` 16-column vectors:
  /// enough accumulators to hide the FMA latency, at most `accumulators` (24 of AVX-512's 32
  /// registers, 6 vectors of 2 registers of AVX2's 16).
  private static func chooseTile(
    sliding: Bool, cout: Int, vectors: Int, rows: Int, accumulators: Int
  ) -> (ocb: Int, rows: Int, vecs: Int) {
    // Vectors per tile: the row's vectors split into near-equal chunks of at most `most`.
    func split(_ most: Int) -> Int {
      let chunks = (vectors + most - 1) / most
      return (vectors + chunks - 1) / chunks
    }
    // Of tile heights 8 and 4, the one computing fewer rows past the last, then 8.
    func height() -> Int {
      let waste = { (r: Int) in (rows + r - 1) / r * r - rows }
      return waste(8) <= waste(4) ? 8 : 4
    }
    if sliding {
      if accumulators < 24 { return cout == 1 ? (1, 4, 1) : (2, 2, 1) }
      if cout == 1 {
        if vectors <= 2 { return (1, height(), vectors) }
        return (1, 4, split(4))
      }
      if vectors == 1 { return (2, 4, 1) }
      if vectors == 2 { return (2, 4, 2) }
      return (2, 2, split(4))
    }
    // Channels per tile: the one of 1...4 with the least padding, then the largest.
    var ocb = 1
    for candidate in 1...4 {
      let padded = (cout + candidate - 1) / candidate * candidate
      let best = (cout + ocb - 1) / ocb * ocb
      if padded <= best { ocb = candidate }
    }
    let budget = accumulators / ocb
    let v = split(min(6, max(1, budget)))
    // Rows per tile when a row is narrow, so that there are at least ~8 accumulators (4
    // with AVX2, 8 registers).
    var r = 1
    for candidate in [2, 4, 8] where candidate <= rows && ocb * candidate * v <= accumulators {
      if ocb * r * v >= accumulators / 3 { break }
      if gc_direct_tile_index(Int(GC_DIRECT_TAPS), ocb, candidate, v, 0, 0) >= 0 { r = candidate }
    }
    if gc_direct_tile_index(Int(GC_DIRECT_TAPS), ocb, r, v, 0, 0) < 0 { return (ocb, 1, v) }
    return (ocb, r, v)
  }

  package var addsToOutput: Bool { false }

  package func forward(
    x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
    clamp: UnsafePointer<Float>?, activation: gc_activation_kind?, adding: Bool
  ) {
    precondition(!adding, "the direct kernels do not add to their output")
    let small = cost < options.parallelWorkThreshold
    let threads = small ? 1 : min(options.threads ?? Threads.count, items)
    var plan = unsafe self.plan
    scratchPool.withBuffers(threads, floats: scratchCount) { buffers in
      unsafe taps.withUnsafeBufferPointer { taps in
        unsafe columnOffsets.withUnsafeBufferPointer { columns in
          unsafe plan.weight = UnsafePointer(weights.pointer)
          unsafe plan.taps = taps.baseAddress
          unsafe plan.koff = columns.baseAddress
          unsafe plan.clamp = clamp
          unsafe plan.activation = activation.map { Int($0.rawValue) } ?? -1
          if threads == 1 {
            unsafe gc_direct_forward(&plan, x, bias, y, buffers[0].pointer, 0, items)
          } else {
            unsafe run(plan, x: x, bias: bias, y: y, buffers: buffers)
          }
        }
      }
    }
  }

  /// Spreads the work items over `buffers.count` threads, as a few tasks per thread of
  /// consecutive items (`Threads.forEachItem`): the processor a thread runs on gets the same
  /// share of the channels on every call, and finds that share's input and output in its
  /// own caches.
  private func run(
    _ plan: gc_direct_plan, x: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    y: UnsafeMutablePointer<Float>, buffers: [AlignedBuffer]
  ) {
    let items = self.items
    let tasks = min(items, 8 * buffers.count)
    Threads.forEachItem(tasks, threads: buffers.count) { worker, task in
      var plan = unsafe plan
      unsafe gc_direct_forward(
        &plan, x, bias, y, buffers[worker].pointer, items * task / tasks,
        items * (task + 1) / tasks)
    }
  }
}
