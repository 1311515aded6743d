import CKernels
import Tensors

/// The shape analysis of a convolution computed as one matrix product per group (see
/// `GemmConvolution`): the compute space, the stride phases, the K blocks, and the chunks of
/// work the threads share. Dimensions are (d, h, w); 1-D and 2-D get leading extents of 1.
///
/// *Phase planes.* With stride s, tap t reads input position o · s + t · dilation − pad,
/// that is position o + q of the plane of phase φ, where (q, φ) = (t · dilation) divmod s.
/// The phase planes hold the input with its padding written as zeros; a convolution with
/// stride 1 and no padding reads x itself.
///
/// *Compute space.* Output position (z, r, c) is computed at p = (z · eH + r) · eW + c, with
/// pitches eH, eW ≥ yH, yW (see `pitch`), the phase planes laid out with the same pitches.
/// Then tap t of every position reads its phase plane at p + offset(t): each row of B is a
/// contiguous piece of a plane. Positions with r ≥ yH or c ≥ yW are computed and dropped:
/// eW / yW of the work, 57 / 56 for a padded 3×3 on 56 columns. A plan that gathers (see
/// `gathers`) has the output's pitches instead, and reads x itself, masked.
struct GemmPlan {
  /// A piece of work: output channels `m` of group `group` at tiles `tiles` of one image.
  struct Chunk {
    var group: Int
    var m: Range<Int>
    var tiles: Range<Int>
  }

  static let mr = Int(GC_GEMM_MR)
  static let nr = Int(GC_GEMM_NR)
  /// Cache lines of B that a tile of one K block may touch (144 KiB, in L2: read from there
  /// by each 8 output channels, or once when the tiles pack B): 153 channels of a 3×3 at 15
  /// lines each. Blocks small enough for L1 (768 lines) measured slower before the tiles
  /// packed B: every block after the first stores and reloads the sums through y and
  /// prepares its planes again (dense 3×3 of 64 or 128 channels, 0.90–0.93× time with one
  /// block; groups of 64, 0.90×).
  static let blockLines = 2304
  /// Weights per output-channel range and K block (floats), to stay in L2 (512 KiB).
  static let rangeFloats = 128 * 1024
  /// Weights per group (bytes) beyond which they are taken to live in L3, not L2.
  static let largeWeightBytes = 1 << 20
  /// Tiles per chunk at most: bounds the prepared planes.
  static let maxChunkTiles = 16
  /// Rows of B packed together when a chunk packs its tiles (see `packs`).
  static let packRows = Int(GC_GEMM_PACK_ROWS)
  /// The least K (per block) for which the tiles pack B, and the least output channels (in
  /// the widest output-channel range) for a pointwise and for a wider kernel. Read in place,
  /// each 8 output channels read a tile's B again, from L2 once it outgrows L1 (576 rows of a
  /// 3×3 on a 56-wide plane span 46 KiB); packed, it is read from L2 once and then from L1.
  /// The copy is repaid over enough channels; a wider kernel's taps also share the cache
  /// lines they read in place.
  /// Measured (C microbenchmark, one thread, times packed over in place, medians of 120
  /// alternating pairs): 3×3 64 → 64 channels on 56 × 56 0.87, 32 → 128 on 28 × 28 0.91,
  /// 16 → 64 on 56 × 56 0.97, but 32 → 32 1.15 and 64 → 32 1.00; 1×1 64 → 64 on 56 × 56
  /// 0.84, 256 → 128 on 28 × 28 0.67, 144 → 24 on 56 × 56 0.91, 32 → 64 0.98, 16 → 64 1.00.
  /// With AVX2, whose sub-tiles of 6 and 2 of a tile's 8 rows read each tile's B twice,
  /// packing pays from 32 output channels (the 8-group 3×3, 32 → 32 channels a group on
  /// 28 × 28: 0.79 of the time, two threads, medians of 8 runs alternating).
  static let packMinK = 64
  static let packMinPointwiseM = 24
  static var packMinM: Int { Machine.usesAVX2 ? 32 : 64 }

  let batch, groups, xChannels, yChannels: Int
  /// Channels per group, taps per kernel, K = xPerGroup · taps.
  let xPerGroup, yPerGroup, taps, k: Int
  /// Extents (d, h, w) of x and y, the pitches of the compute space and the phase planes.
  let xSize, ySize, eSize: [Int]
  let stride, pad: [Int]
  let xPlane, yPlane: Int
  /// Compute positions per image, and the 48-position tiles covering them.
  let computeCount, tiles: Int
  /// Phase values per dimension (also as the C kernels take them), and the number of phase
  /// planes per channel.
  let phases: [[Int]]
  let phaseValues: [[Int64]]
  let phaseCount: Int
  /// Per tap (d, h, w order): its phase plane and its offset in compute positions.
  let tapPhase, tapOffset: [Int]
  let maxOffset: Int
  /// Channels per K block, and K blocks.
  let blockChannels, blocks: Int
  /// 8-row weight panels per group.
  let panelsPerGroup: Int
  /// The chunks of each image but the last, and of the last, in the order threads take them.
  let chunks, lastChunks: [Chunk]
  /// Floats per prepared phase plane of a chunk, the prepared floats a thread needs, and the
  /// floats that follow them for packing (zero unless `packs`).
  let blockLength, preparedCount, packCount: Int
  /// Whether the tiles pack B (`gc_gemm_tiles_args.pack`).
  let packs: Bool
  /// Floats of a thread's scratch: prepared planes, then the packing scratch.
  var scratchCount: Int { preparedCount + packCount }
  /// Stride 1 and no padding: the phase plane is x itself, read in place wherever the reads
  /// of a chunk (which run up to 48 + maxOffset past its last position, into the next
  /// channel's plane) stay inside x.
  let readsInPlace: Bool
  /// Whether the tiles gather B straight from x while they pack it, with zeros for the
  /// padding (`gc_gemm_tiles_args.masks`): no phase planes are prepared, and the compute
  /// space has the output's pitch, with no dropped columns. Only from `gathering(_:threads:)`.
  let gathers: Bool
  /// With `gathers`: per tap and vector of 16 compute positions (`maskVectors` per tap,
  /// covering every tile), the lanes whose input lies inside x.
  let masks: [UInt16]
  let maskVectors: Int

  /// - Parameter threads: the threads expected to share the work (2 at least is assumed).
  init(_ g: ConvolutionGeometry, threads: Int) {
    self.init(g, threads: threads, gathering: false)
  }

  /// The plan that gathers B while packing it, when it does: a padded convolution of stride
  /// 1 (1-D or 2-D) whose output rows are as wide as the input's, with enough channels to
  /// pack its tiles (measured in `GemmConvolution`).
  static func gathering(_ g: ConvolutionGeometry, threads: Int) -> GemmPlan? {
    let plan = GemmPlan(g, threads: threads, gathering: true)
    return plan.gathers ? plan : nil
  }

  private init(_ g: ConvolutionGeometry, threads: Int, gathering: Bool) {
    func padded(_ values: [Int], _ fill: Int) -> [Int] {
      Array(repeating: fill, count: 3 - values.count) + values
    }
    let (kernel, dilation) = (padded(g.kernel, 1), padded(g.dilation, 1))
    let (xSize, ySize) = (padded(g.xSize, 1), padded(g.ySize, 1))
    let (stride, pad) = (padded(g.stride, 1), padded(g.padBegin, 0))
    let (xPerGroup, yPerGroup) = (g.xChannels / g.groups, g.yChannels / g.groups)
    let taps = kernel.reduce(1, *)
    let strideOne = stride.allSatisfy { $0 == 1 }
    let inPlace = strideOne && (g.padBegin + g.padEnd).allSatisfy { $0 == 0 }
    let gathers =
      gathering && strideOne && !inPlace && xSize[0] == 1 && kernel[0] == 1 && pad[0] == 0
      && ySize[2] == xSize[2]
    let eSize =
      gathers
      ? ySize
      : (0..<3).map { d in
        Self.pitch(
          x: xSize[d], y: ySize[d], kernel: kernel[d], stride: stride[d], dilation: dilation[d],
          pad: pad[d])
      }
    let computeCount = ((ySize[0] - 1) * eSize[1] + ySize[1] - 1) * eSize[2] + ySize[2]
    let tiles = (computeCount + Self.nr - 1) / Self.nr

    // Taps: phase plane and offset.
    let phases = (0..<3).map { d in
      Set((0..<kernel[d]).map { $0 * dilation[d] % stride[d] }).sorted()
    }
    var (tapPhase, tapOffset) = ([Int](), [Int]())
    // Gathering reads x itself: the padding shifts the taps back.
    let origin = gathers ? pad[1] * eSize[2] + pad[2] : 0
    for tz in 0..<kernel[0] {
      for ty in 0..<kernel[1] {
        for tx in 0..<kernel[2] {
          let tap = [tz, ty, tx]
          let q = (0..<3).map { d in tap[d] * dilation[d] / stride[d] }
          let index = (0..<3).map { d in
            phases[d].firstIndex(of: tap[d] * dilation[d] % stride[d])!
          }
          tapPhase.append((index[0] * phases[1].count + index[1]) * phases[2].count + index[2])
          tapOffset.append((q[0] * eSize[1] + q[1]) * eSize[2] + q[2] - origin)
        }
      }
    }
    let maxOffset = tapOffset.max() ?? 0

    // K blocks of whole channels, as even as possible. Per channel, a tile reads a piece of
    // 48 + shift positions (4 lines) in each kernel row and column phase.
    let piece = (Self.nr + (kernel[2] - 1) * dilation[2] / stride[2] + 15) / 16 + 1
    let lines = taps / kernel[2] * phases[2].count * piece
    let wantedBlocks = max(1, (xPerGroup * lines + Self.blockLines - 1) / Self.blockLines)
    let blockChannels = (xPerGroup + wantedBlocks - 1) / wantedBlocks

    // Output-channel ranges of whole panels: enough that a K block of their weights stays in
    // L2 and, when a group's weights outgrow L2, enough to share the work. A chunk reads its
    // weights once (from L3 when large) and prepares its input once, so splitting the output
    // channels m ways and the tiles t ways moves about t · weights + m · input bytes: with
    // large weights and few positions (late layers), split the channels rather than the tiles.
    let panelsPerGroup = (yPerGroup + Self.mr - 1) / Self.mr
    let panelsPerRange = max(1, Self.rangeFloats / (Self.mr * blockChannels * taps))
    var ranges = (panelsPerGroup + panelsPerRange - 1) / panelsPerRange
    let perUnit = max(1, (4 * max(2, threads) + g.batch * g.groups - 1) / (g.batch * g.groups))
    let weightBytes = Double(yPerGroup * xPerGroup * taps * 4)
    if weightBytes > Double(Self.largeWeightBytes) {
      let inputBytes = Double(xPerGroup * phases.reduce(1) { $0 * $1.count } * 4)
        * Double(tiles * Self.nr + maxOffset)
      let balance = (Double(perUnit) * inputBytes / weightBytes).squareRoot().rounded()
      let tileWays = max(1, min(tiles, Int(balance)))
      ranges = max(ranges, min(panelsPerGroup, (perUnit + tileWays - 1) / tileWays))
    }
    let mRanges = (0..<ranges).map { r in
      panelsPerGroup * r / ranges * Self.mr..<min(
        yPerGroup, panelsPerGroup * (r + 1) / ranges * Self.mr)
    }

    // Tile ranges: enough chunks for each thread to take 4, each of at most 16 tiles; the
    // last unit of work (last image, group and output-channel range) in chunks that shrink to
    // 1 tile, so that the threads finish together even when one runs slower.
    let units = g.batch * g.groups * mRanges.count
    let wanted = max(1, (4 * max(2, threads) + units - 1) / units)
    let byLength = (tiles + Self.maxChunkTiles - 1) / Self.maxChunkTiles
    let count = min(tiles, max(1, byLength, wanted))
    let tileRanges = (0..<count).map { i in tiles * i / count..<tiles * (i + 1) / count }
    var (lower, lastRanges) = (0, [Range<Int>]())
    while lower < tiles {
      let share = 2 * max(2, threads)
      let size = min(Self.maxChunkTiles, (tiles - lower + share - 1) / share)
      lastRanges.append(lower..<lower + size)
      lower += size
    }
    func makeChunks(last: Bool) -> [Chunk] {
      var chunks = [Chunk]()
      for group in 0..<g.groups {
        for (index, m) in mRanges.enumerated() {
          let isLast = last && group == g.groups - 1 && index == mRanges.count - 1
          for range in isLast ? lastRanges : tileRanges {
            chunks.append(Chunk(group: group, m: m, tiles: range))
          }
        }
      }
      return chunks
    }
    let longest = (tileRanges + lastRanges).map(\.count).max() ?? 0
    (chunks, lastChunks) = (makeChunks(last: false), makeChunks(last: true))
    readsInPlace = inPlace

    (batch, groups, xChannels, yChannels) = (g.batch, g.groups, g.xChannels, g.yChannels)
    (self.xPerGroup, self.yPerGroup, self.taps, k) = (xPerGroup, yPerGroup, taps, xPerGroup * taps)
    (self.xSize, self.ySize, self.eSize, self.stride, self.pad) = (xSize, ySize, eSize, stride, pad)
    (xPlane, yPlane) = (xSize.reduce(1, *), ySize.reduce(1, *))
    (self.computeCount, self.tiles) = (computeCount, tiles)
    (self.phases, phaseCount) = (phases, phases.reduce(1) { $0 * $1.count })
    phaseValues = phases.map { $0.map(Int64.init) }
    (self.tapPhase, self.tapOffset, self.maxOffset) = (tapPhase, tapOffset, maxOffset)
    (self.blockChannels, blocks) = (blockChannels, (xPerGroup + blockChannels - 1) / blockChannels)
    self.panelsPerGroup = panelsPerGroup
    let widest = mRanges.map(\.count).max() ?? 0
    packs =
      blockChannels * taps >= Self.packMinK
      && widest >= (taps == 1 ? Self.packMinPointwiseM : Self.packMinM)
    packCount = packs ? (Self.packRows + (widest + Self.mr - 1) / Self.mr * Self.mr) * Self.nr : 0
    self.gathers = gathers && packs
    blockLength = Self.planeLength(longest * Self.nr + maxOffset)
    preparedCount = self.gathers ? 0 : blockChannels * phaseCount * blockLength
    maskVectors = self.gathers ? tiles * Self.nr / 16 : 0
    masks =
      self.gathers
      ? FlatPlane.insideMasks(
        positions: computeCount, width: eSize[2], inputRows: xSize[1],
        shifts: (0..<taps).map { t in
          (dy: t / kernel[2] * dilation[1] - pad[1], dx: t % kernel[2] * dilation[2] - pad[2])
        }, vectors: maskVectors)
      : []
  }

  /// Floats per prepared plane for `count` positions: whole cache lines, an odd number of
  /// them, so that the planes of successive channels start in different L1 sets (an even
  /// count such as 56 lines puts 8 channels on each set offset, and the tile's reads collide).
  static func planeLength(_ count: Int) -> Int {
    let lines = (count + 15) / 16
    return (lines | 1) * 16
  }

  /// The pitch of one dimension of the compute space and the phase planes: at least the
  /// output extent y, and large enough that each read of an output position lands in its own
  /// row, or wraps past the row's data into the next row's leading zeros. So two rows share
  /// their padding: a padded 3×3 on 56 columns has pitch 57 rather than 58.
  ///
  /// In phase φ, position e of a row holds input column e · stride + φ − pad: inside the
  /// input for e in [lo, hi). The taps of that phase read positions up to y − 1 + q.
  static func pitch(x: Int, y: Int, kernel: Int, stride: Int, dilation: Int, pad: Int) -> Int {
    func ceilDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? (a + b - 1) / b : -(-a / b) }
    var pitch = y
    for t in 0..<kernel {
      let (q, phase) = (t * dilation).quotientAndRemainder(dividingBy: stride)
      let lo = max(0, ceilDiv(pad - phase, stride))
      let hi = ceilDiv(x + pad - phase, stride)
      // y + q never wraps; a shorter pitch must hold the data and wrap into zeros only.
      pitch = max(pitch, min(y + q, max(hi, y + q - lo)))
    }
    return pitch
  }

  /// Floats of the packed weights: 8-row panels per group.
  var panelCount: Int { groups * panelsPerGroup * k * Self.mr }

  /// Weights [yChannels, xPerGroup, taps...] packed into 8-row panels interleaved by k:
  /// panel[((group · panelsPerGroup + o / 8) · K + k) · 8 + o % 8], zero rows past the group.
  func pack(_ weight: UnsafeBufferPointer<Float>, into panels: UnsafeMutablePointer<Float>) {
    let (mr, k) = (Self.mr, self.k)
    for group in 0..<groups {
      for o in 0..<yPerGroup {
        let panel = group * panelsPerGroup + o / mr
        let source = (group * yPerGroup + o) * k
        for index in 0..<k {
          unsafe panels[(panel * k + index) * mr + o % mr] = weight[source + index]
        }
      }
    }
  }

  /// Chunks of the whole batch.
  var itemCount: Int { (batch - 1) * chunks.count + lastChunks.count }

  /// The image and chunk of item `index` of `itemCount`.
  func item(_ index: Int) -> (image: Int, chunk: Chunk) {
    let regular = (batch - 1) * chunks.count
    if index >= regular { return (batch - 1, lastChunks[index - regular]) }
    let (image, chunk) = index.quotientAndRemainder(dividingBy: chunks.count)
    return (image, chunks[chunk])
  }

  /// B row offsets of a K block's (channel, tap) rows in prepared phase planes.
  var preparedOffsets: [Int64] { preparedOffsets(channels: blockChannels, planeLength: blockLength) }

  /// B row offsets of a K block's (channel, tap) rows read in place from x.
  var inPlaceOffsets: [Int64] { inPlaceOffsets(channels: blockChannels) }

  /// B row offsets of `channels` channels' (channel, tap) rows in phase planes of
  /// `planeLength` floats each (as `prepare` writes them).
  func preparedOffsets(channels: Int, planeLength: Int) -> [Int64] {
    (0..<channels * taps).map { row in
      let (c, t) = row.quotientAndRemainder(dividingBy: taps)
      return Int64((c * phaseCount + tapPhase[t]) * planeLength + tapOffset[t])
    }
  }

  /// B row offsets of `channels` channels' (channel, tap) rows read in place from x.
  func inPlaceOffsets(channels: Int) -> [Int64] {
    (0..<channels * taps).map { row in
      let (c, t) = row.quotientAndRemainder(dividingBy: taps)
      return Int64(c * xPlane + tapOffset[t])
    }
  }

  /// Copies positions [first, first + count) of the phase planes of `channels` channels
  /// from x into `planes`, `planeLength` floats apart (`gc_gemm_prepare`).
  func prepare(
    _ x: UnsafePointer<Float>, channels: Int, from first: Int, count: Int,
    into planes: UnsafeMutablePointer<Float>, planeLength: Int
  ) {
    unsafe phaseValues[0].withUnsafeBufferPointer { pd in
      unsafe phaseValues[1].withUnsafeBufferPointer { ph in
        unsafe phaseValues[2].withUnsafeBufferPointer { pw in
          var args = unsafe gc_gemm_prepare_args(
            dst: planes, block_len: Int64(planeLength), x: x,
            x_channel_stride: Int64(xPlane), channels: Int64(channels),
            x_size: (Int64(xSize[0]), Int64(xSize[1]), Int64(xSize[2])),
            e_h: Int64(eSize[1]), e_w: Int64(eSize[2]),
            stride: (Int64(stride[0]), Int64(stride[1]), Int64(stride[2])),
            pad: (Int64(pad[0]), Int64(pad[1]), Int64(pad[2])),
            phase_count: (Int64(pd.count), Int64(ph.count), Int64(pw.count)),
            phase_values: (pd.baseAddress, ph.baseAddress, pw.baseAddress),
            f_begin: Int64(first), length: Int64(count))
          unsafe gc_gemm_prepare(&args)
        }
      }
    }
  }
}
