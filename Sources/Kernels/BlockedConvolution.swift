import CKernels
import Tensors

/// The channel-blocked layout NCHW16c: an image's channels in blocks of 16, each block's
/// plane position-major with its 16 channels side by side (one vector per position), lanes
/// past the last channel zero. A chain of pointwise and depthwise convolutions kept in it
/// reads and writes whole cache lines per position, so the threads of consecutive layers can
/// split every layer by positions, each mostly reading what it wrote itself.
package enum BlockedLayout {
  package static let lanes = Int(GC_BLOCKED_LANES)

  /// Blocks of `channels`.
  package static func blocks(_ channels: Int) -> Int { (channels + lanes - 1) / lanes }

  /// Floats of a tensor of plain shape [N, C, spatial...] in the blocked layout.
  package static func count(_ shape: [Int]) -> Int {
    shape[0] * blocks(shape[1]) * lanes * shape.dropFirst(2).reduce(1, *)
  }

  /// y[n, c] = the mean of channel c of image n over its positions, x blocked (plain shape
  /// `shape`), y plain: a global average pooling.
  package static func mean(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, shape: [Int]) {
    let (batch, channels) = (shape[0], shape[1])
    let positions = shape.dropFirst(2).reduce(1, *)
    let blocks = blocks(channels)
    guard positions > 0 else {
      unsafe y.update(repeating: .nan, count: batch * channels)
      return
    }
    let threads = count(shape) < parallelCount ? 1 : Threads.count
    guard threads > 1, blocks < itemsPerShare * threads || positions >= 1024 else {
      Threads.forEachItem(batch * blocks, threads: threads) { _, item in
        let (image, block) = item.quotientAndRemainder(dividingBy: blocks)
        unsafe gc_blocked_mean(
          x + image * blocks * lanes * positions, y + image * channels, Int64(channels),
          Int64(positions), Int64(block))
      }
      return
    }
    // Few blocks, or a large plane: ranges of positions, each thread's share the part of the
    // plane the layer before wrote there, every block's mean over each range; then their
    // weighted sum.
    let ranges = min(positions, itemsPerShare * threads)
    /// The first position of range `range`, and its number of positions.
    func bounds(_ range: Int) -> (begin: Int, count: Int) {
      let begin = positions * range / ranges
      return (begin, positions * (range + 1) / ranges - begin)
    }
    var partial = [Float](repeating: 0, count: batch * ranges * blocks * lanes)
    unsafe partial.withUnsafeMutableBufferPointer { partial in
      let partial = partial.baseAddress!
      Threads.forEachItem(batch * ranges, threads: threads) { _, item in
        let (image, range) = item.quotientAndRemainder(dividingBy: ranges)
        let (begin, count) = bounds(range)
        for block in 0..<blocks {
          unsafe gc_blocked_mean(
            x + ((image * blocks + block) * positions + begin) * lanes,
            partial + (item * blocks + block) * lanes, Int64(lanes), Int64(count), 0)
        }
      }
      for image in 0..<batch {
        for channel in 0..<channels {
          var sum: Float = 0
          for range in 0..<ranges {
            sum += unsafe partial[((image * ranges + range) * blocks) * lanes + channel]
              * Float(bounds(range).count)
          }
          unsafe y[image * channels + channel] = sum / Float(positions)
        }
      }
    }
  }

  /// Max pooling of `blocks` blocked planes (every image's blocks, one after the other) over
  /// the 2-D windows of `geometry` (whose planes count channels; only its windows are used).
  package static func maxPool(
    _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, _ geometry: PoolGeometry,
    blocks: Int
  ) {
    let g = geometry
    let (inH, inW, outH, outW) = (g.input[1], g.input[2], g.output[1], g.output[2])
    guard blocks * outH * outW > 0 else { return }
    let threads = blocks * lanes * inH * inW < parallelCount ? 1 : Threads.count
    // Ranges of rows, as the convolutions split their work.
    let ranges = min(outH, threads)
    forEachPiece(
      images: 1, ranges: ranges, count: outH, blocks: blocks, shares: threads, threads: threads
    ) { _, _, rows, run in
      for block in run {
        var args = unsafe gc_blocked_max_pool_args(
          x: x + block * inH * inW * lanes, y: y + block * outH * outW * lanes,
          in_h: Int64(inH), in_w: Int64(inW), out_w: Int64(outW),
          row_begin: Int64(rows.lowerBound), row_end: Int64(rows.upperBound),
          kernel_h: Int64(g.kernel[1]), kernel_w: Int64(g.kernel[2]),
          stride_h: Int64(g.stride[1]), stride_w: Int64(g.stride[2]),
          dilation_h: Int64(g.dilation[1]), dilation_w: Int64(g.dilation[2]),
          pad_top: Int64(g.padBegin[1]), pad_left: Int64(g.padBegin[2]))
        unsafe gc_blocked_max_pool(&args)
      }
    }
  }

  /// y = x · gate[n, c] for every position of channel c of image n, x and y blocked (plain
  /// shape `shape`), the gate plain ([N or 1, C]): a squeeze-and-excitation gate that no
  /// convolution takes in its weights. `padded` holds the gate padded to whole blocks.
  package static func gate(
    _ x: UnsafePointer<Float>, by gate: UnsafePointer<Float>, perImage: Bool,
    into y: UnsafeMutablePointer<Float>, shape: [Int], padded: UnsafeMutablePointer<Float>
  ) {
    let (batch, channels) = (shape[0], shape[1])
    let positions = shape.dropFirst(2).reduce(1, *)
    let blocks = blocks(channels)
    let images = perImage ? batch : 1
    for image in 0..<images {
      unsafe (padded + image * blocks * lanes).update(from: gate + image * channels, count: channels)
    }
    let threads = count(shape) < parallelCount ? 1 : Threads.count
    forEachPiece(
      images: batch, ranges: 1, count: positions, blocks: blocks, shares: threads,
      threads: threads
    ) { _, image, _, run in
      let offset = image * blocks * lanes * positions
      unsafe gc_blocked_gate(
        x + offset, padded + (perImage ? image * blocks * lanes : 0), y + offset,
        Int64(positions), Int64(run.lowerBound), Int64(run.upperBound))
    }
  }

  /// Floats below which a layout change runs on one thread.
  static let parallelCount = 1 << 15

  /// Items per thread's share of a pass, about: the last ones balance the threads when the
  /// machine delays one.
  static let itemsPerShare = 4

  /// Runs `body(worker, image, part, blocks)` over `threads` threads for every image, every
  /// one of `ranges` ranges `part` of its `count` rows or positions, and runs of consecutive
  /// blocks (or panels) of `blocks`: ranges outside runs, so that each thread's share of the
  /// items (`Threads.forEachItem`) is its part of the plane, with enough runs for about
  /// `itemsPerShare` items per share of `shares`.
  ///
  /// Where a share holds several items, they shrink toward its end (`shrinkingPart`): a
  /// thread done with its share takes the other's last item, and a thread finds the other
  /// still at work for half an item on average, so the last items are the small ones.
  static func forEachPiece(
    images: Int, ranges: Int, count: Int, blocks: Int, shares: Int, threads: Int,
    _ body: (_ worker: Int, _ image: Int, _ part: Range<Int>, _ blocks: Range<Int>) -> Void
  ) {
    let runs = min(blocks, (itemsPerShare * shares + ranges - 1) / ranges)
    // Whether every share holds whole ranges, and how many.
    let rangesPerShare = ranges % shares == 0 ? ranges / shares : 0
    Threads.forEachItem(images * ranges * runs, threads: threads) { worker, item in
      let (image, rest) = item.quotientAndRemainder(dividingBy: ranges * runs)
      let (range, run) = rest.quotientAndRemainder(dividingBy: runs)
      var part = (count * range / ranges)..<(count * (range + 1) / ranges)
      var blockRun = (blocks * run / runs)..<(blocks * (run + 1) / runs)
      if rangesPerShare > 0, runs > 1 {
        blockRun = shrinkingPart(run, of: runs, count: blocks)
      } else if rangesPerShare > 1 {
        let (share, index) = range.quotientAndRemainder(dividingBy: rangesPerShare)
        let shareBegin = count * share / shares
        let inShare = shrinkingPart(
          index, of: rangesPerShare, count: count * (share + 1) / shares - shareBegin)
        part = (shareBegin + inShare.lowerBound)..<(shareBegin + inShare.upperBound)
      }
      body(worker, image, part, blockRun)
    }
  }

  /// Part `index` of `count` things cut into `parts` consecutive parts whose sizes go as
  /// parts, parts − 1, …, 1: the last parts are the smallest.
  package static func shrinkingPart(_ index: Int, of parts: Int, count: Int) -> Range<Int> {
    let total = parts * (parts + 1) / 2
    func edge(_ i: Int) -> Int { count * (i * parts - i * (i - 1) / 2) / total }
    return edge(index)..<edge(index + 1)
  }

  /// y (blocked) = x (plain, `shape`), or the reverse with `toPlanes`.
  package static func convert(
    _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, shape: [Int],
    toPlanes: Bool
  ) {
    let (batch, channels) = (shape[0], shape[1])
    let positions = shape.dropFirst(2).reduce(1, *)
    let blocks = blocks(channels)
    guard batch * blocks * positions > 0 else { return }
    let threads = count(shape) < parallelCount ? 1 : Threads.count
    // Each thread converts a range of the plane's positions.
    let ranges = min(positions, threads)
    forEachPiece(
      images: batch, ranges: ranges, count: positions, blocks: blocks, shares: threads,
      threads: threads
    ) { _, image, part, run in
      let begin = Int64(part.lowerBound), end = Int64(part.upperBound)
      let plainImage = image * channels * positions
      let blockedImage = image * blocks * lanes * positions
      for block in run {
        if toPlanes {
          unsafe gc_blocked_to_planes(
            x + blockedImage, y + plainImage, Int64(channels), Int64(positions), Int64(block),
            begin, end)
        } else {
          unsafe gc_blocked_from_planes(
            x + plainImage, y + blockedImage, Int64(channels), Int64(positions), Int64(block),
            begin, end)
        }
      }
    }
  }
}

/// Pointwise (1×1; a strided one reads a copy of the positions it reads), grouped
/// (depthwise, or groups of 2, 4, 8 or 16 · m channels each side) and other dense 2-D
/// convolutions in the blocked layout, y blocked and x blocked (or, for a dense convolution
/// of at most 16 input channels, plain), with the bias, an optional residual already in y, a
/// clamp and an activation applied as each vector is stored.
///
/// Pointwise: per image, tiles of up to 7 positions × 64 output channels (6 positions of a
/// panel's 4 blocks, whose accumulators then fit the registers), each input value broadcast
/// against a row of the packed weights panel[k · 64 + channel], K in slices that stay in L1.
/// Dense: tiles of up to 7 consecutive positions of a row (6 with AVX2, a block at a time),
/// over (input block, kernel row, kernel column, lane), reading the input in place where the
/// tile reads only inside it, else its rows staged with zeros for the padding; with
/// `groupsAsDense`, one such pass per group of whole blocks. Grouped: per block and output
/// row, 8 output positions at a time, each tap and channel of the group one vector FMA
/// (depthwise: the input vector itself; groups of 2 to 8: the group's lane permuted to all
/// its lanes; wider groups: the channel broadcast). All split their work by ranges of
/// positions (rows) first, so that a thread reads the part of the plane the previous
/// layer's same thread wrote.
package final class BlockedConvolution: @unchecked Sendable {
  package enum Kind: Sendable, Equatable {
    case pointwise, dense
    /// Groups of `width` input and output channels each: 1 (depthwise), 2, 4, 8 (lanes of a
    /// block) or 16 · m (whole blocks).
    case grouped(width: Int)
  }

  package let geometry: ConvolutionGeometry
  package let kind: Kind
  /// Pointwise and dense: panels of 64 output channels by K = input blocks · taps · 16 (the
  /// input's channels, for a plain x); grouped: per block, taps × group width × 16.
  let weights: AlignedBuffer
  /// Per output channel, padded to whole panels (pointwise, dense) or blocks (grouped).
  let bias: AlignedBuffer
  let inBlocks, outBlocks, panels, positions: Int
  /// Groups of a dense (or pointwise) convolution, each with its own input blocks and
  /// panels: 1, or the geometry's groups with `groupsAsDense`.
  let denseGroups: Int
  /// Whether a pass is too small to share: one thread runs it.
  let small: Bool
  /// Whether x is plain (`init`'s `planes`).
  package let planes: Bool

  /// Input blocks per K slice of a pointwise pass (32 KiB of a panel).
  static let sliceBlocks = 8
  /// Tiles per piece of a range that all K slices run over before the next piece.
  static let pieceTiles = 8
  /// The bias of the K slices after the first.
  private let zeros = AlignedBuffer(count: Int(GC_BLOCKED_POINTWISE_BLOCKS) * BlockedLayout.lanes)

  /// Multiply-adds below which one thread runs the whole pass.
  static let parallelMultiplyAdds = 1 << 16

  /// Which kind of blocked convolution computes `g`, if any.
  /// With `groupsAsDense`, groups of whole blocks of input and output channels are dense
  /// (see `init`).
  package static func kind(of g: ConvolutionGeometry, groupsAsDense: Bool = false) -> Kind? {
    let lanes = BlockedLayout.lanes
    guard !g.transposed, g.paddingMode == .zeros, g.spatialRank == 2, g.multiplyAdds > 0
    else { return nil }
    if g.groups == 1, g.kernel == [1, 1], g.padBegin == [0, 0], g.padEnd == [0, 0] {
      return .pointwise
    }
    if g.groups == 1 { return .dense }
    if groupsAsDense, g.xChannels / g.groups % lanes == 0, g.yChannels / g.groups % lanes == 0 {
      return .dense
    }
    let width = g.xChannels / g.groups
    guard g.yChannels == g.xChannels, [1, 2, 4, 8].contains(width) || width % 16 == 0
    else { return nil }
    return .grouped(width: width)
  }

  /// - Parameters:
  ///   - weight: `geometry.weightShape`.
  ///   - bias: `yChannels` floats.
  ///   - parallelMultiplyAdds: the work from which passes are shared by threads (tests lower
  ///     it to 0).
  ///   - planes: x is plain (NCHW) rather than blocked: a dense convolution of at most 16
  ///     input channels (a network's stem), whose input rows are read where they are.
  ///   - groupsAsDense: a grouped convolution whose groups have whole blocks of input and
  ///     output channels runs as a dense one per group (its own input blocks, its own
  ///     panels), not as `Kind.grouped`.
  package init?(
    _ geometry: ConvolutionGeometry, weight: UnsafeBufferPointer<Float>,
    bias: UnsafeBufferPointer<Float>, planes: Bool = false, groupsAsDense: Bool = false,
    parallelMultiplyAdds: Int = BlockedConvolution.parallelMultiplyAdds
  ) {
    let lanes = BlockedLayout.lanes
    guard let kind = Self.kind(of: geometry, groupsAsDense: groupsAsDense),
      weight.count == geometry.weightShape.reduce(1, *), bias.count == geometry.yChannels,
      !planes || (kind == .dense && geometry.groups == 1 && geometry.xChannels <= lanes)
    else { return nil }
    denseGroups = kind == .dense ? geometry.groups : 1
    self.geometry = geometry
    self.kind = kind
    self.planes = planes
    let (cin, cout) = (geometry.xChannels, geometry.yChannels)
    // K rows per input block and tap: its channels.
    let rowLanes = planes ? cin : lanes
    inBlocks = BlockedLayout.blocks(cin)
    outBlocks = BlockedLayout.blocks(cout)
    positions = geometry.ySize.reduce(1, *)
    let panelWidth = Int(GC_BLOCKED_POINTWISE_BLOCKS) * lanes
    switch kind {
    case .dense, .pointwise:
      // Per group (one, unless `groupsAsDense`), panels of its output channels by rows
      // k = ((b · kernel_h + ky) · kernel_w + kx) · rowLanes + lane for the group's input
      // channel 16 b + lane, zero rows past the channels (a pointwise panel: k = channel).
      let (xPerGroup, yPerGroup) = (cin / denseGroups, cout / denseGroups)
      let groupPanels = (yPerGroup + panelWidth - 1) / panelWidth
      panels = denseGroups * groupPanels
      let taps = geometry.kernel.reduce(1, *)
      let k = BlockedLayout.blocks(xPerGroup) * taps * rowLanes
      weights = AlignedBuffer(count: panels * k * panelWidth)
      self.bias = AlignedBuffer(count: panels * panelWidth)
      for o in 0..<cout {
        let (group, channel) = o.quotientAndRemainder(dividingBy: yPerGroup)
        let (groupPanel, column) = channel.quotientAndRemainder(dividingBy: panelWidth)
        let panel = group * groupPanels + groupPanel
        for c in 0..<xPerGroup {
          let (block, lane) = c.quotientAndRemainder(dividingBy: lanes)
          for t in 0..<taps {
            let row = (block * taps + t) * rowLanes + lane
            unsafe weights.pointer[(panel * k + row) * panelWidth + column] =
              weight[(o * xPerGroup + c) * taps + t]
          }
        }
      }
    case .grouped(let width):
      // Rows (tap · width + j) · 16 + lane of block b for output channel 16 · b + lane and
      // channel j of its group.
      panels = outBlocks
      let taps = geometry.kernel.reduce(1, *)
      weights = AlignedBuffer(count: outBlocks * taps * width * lanes)
      self.bias = AlignedBuffer(count: outBlocks * lanes)
      for c in 0..<cout {
        let (block, lane) = c.quotientAndRemainder(dividingBy: lanes)
        for j in 0..<width {
          for t in 0..<taps {
            unsafe weights.pointer[((block * taps + t) * width + j) * lanes + lane] =
              weight[(c * width + j) * taps + t]
          }
        }
      }
    }
    small = geometry.multiplyAdds < parallelMultiplyAdds
    for c in 0..<cout { unsafe self.bias.pointer[biasIndex(c)] = bias[c] }
  }

  /// Floats of the packed weights, for `scaleWeights(by:into:)`.
  package var weightCount: Int { weights.count }

  /// Floats of the packed bias: `panels` · 64 (pointwise, dense) or `outBlocks` · 16.
  package var biasCount: Int { bias.count }

  /// Where output channel `channel`'s bias lies in the packed bias: a dense convolution's
  /// groups each start a panel.
  package func biasIndex(_ channel: Int) -> Int {
    guard denseGroups > 1 else { return channel }
    let perGroup = geometry.yChannels / denseGroups
    let (group, index) = channel.quotientAndRemainder(dividingBy: perGroup)
    return group * (panels / denseGroups) * Int(GC_BLOCKED_POINTWISE_BLOCKS) * BlockedLayout.lanes
      + index
  }

  /// The packed weights of a pointwise convolution with every weight that reads input
  /// channel c multiplied by scale[c], into `scaled` (`weightCount` floats, 64-byte aligned,
  /// zero where the input channels run out): for a convolution of x · scale, a per-channel
  /// gate (squeeze-and-excitation) folded into the weights.
  package func scaleWeights(by scale: UnsafePointer<Float>, into scaled: UnsafeMutablePointer<Float>) {
    precondition(kind == .pointwise)
    let width = Int(GC_BLOCKED_POINTWISE_BLOCKS) * BlockedLayout.lanes
    let k = inBlocks * BlockedLayout.lanes
    for panel in 0..<panels {
      for channel in 0..<geometry.xChannels {
        let factor = unsafe scale[channel]
        let start = (panel * k + channel) * width
        for index in start..<(start + width) {
          unsafe scaled[index] = weights.pointer[index] * factor
        }
      }
    }
  }

  /// y = f(clamp(x ⋆ w + bias (+ y when `adding`))) over the batch, x and y blocked; with the
  /// packed weights `weights` when given (`scaleWeights`' result), else the kernel's own.
  package func forward(
    x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, clamp: UnsafePointer<Float>?,
    activation: gc_activation_kind?, adding: Bool, weights: UnsafePointer<Float>? = nil
  ) {
    let weights = unsafe weights ?? UnsafePointer(self.weights.pointer)
    let threads = small ? 1 : Threads.count
    // A strided pointwise pass reads a copy of the positions it reads, side by side.
    let strided = kind == .pointwise && geometry.stride != [1, 1]
    let copies =
      strided
      ? subsamplePool.take(1) {
        AlignedBuffer(count: self.geometry.batch * self.inBlocks * self.positions * BlockedLayout.lanes)
      } : []
    defer { subsamplePool.give(copies) }
    var x = unsafe x
    if let copy = copies.first {
      unsafe subsample(x, into: copy.pointer, threads: threads)
      unsafe x = UnsafePointer(copy.pointer)
    }
    if kind == .pointwise, let parts = kParts(threads: threads) {
      unsafe forwardSharingK(
        parts: parts, x: x, y: y, weights: weights, clamp: clamp, activation: activation,
        adding: adding)
      return
    }
    // Items per image: ranges of positions (rows), outside runs of consecutive panels
    // (blocks); at least one range per thread (each thread's share of the items is then its
    // part of the plane), and about 4 items per thread: with fewer than 4 panels, more
    // ranges, so that a thread done early can take the last items of one the machine delays.
    // A pointwise pass over a small plane (a 7 × 7 one: 7 tiles) with many panels shares its
    // panels instead: each thread then reads only its panels' weights (the pass reads more
    // weight than input), and whole panels balance the threads where 7 tiles cannot.
    let perImage = geometry.batch == 1 ? threads : 1
    let rangesPerShare = max(1, BlockedLayout.itemsPerShare / panels)
    let ranges: Int
    switch kind {
    case .pointwise:
      let sharePanels = panels >= 4 * perImage && tiles < 4 * perImage
      ranges = sharePanels ? 1 : max(1, min(tiles, perImage * rangesPerShare))
    case .grouped, .dense:
      ranges = max(1, min(geometry.ySize[0], perImage * rangesPerShare))
    }
    let stages =
      kind == .dense ? stagePool.take(threads) { AlignedBuffer(count: self.stageCount) } : []
    defer { stagePool.give(stages) }
    BlockedLayout.forEachPiece(
      images: geometry.batch, ranges: ranges,
      count: kind == .pointwise ? positions : geometry.ySize[0], blocks: panels,
      shares: perImage, threads: threads
    ) { worker, image, part, panelRange in
      if self.kind == .dense {
        unsafe self.runDense(
          image: image, rows: part, panels: panelRange, x: x, y: y,
          weights: weights, bias: self.bias.pointer, stage: stages[worker].pointer, clamp: clamp,
          activation: activation, adding: adding)
        return
      }
      for panel in panelRange {
        unsafe self.run(
          image: image, part: part, panel: panel, x: x, y: y, weights: weights,
          clamp: clamp, activation: activation, adding: adding)
      }
    }
  }

  private let subsamplePool = ScratchPool<AlignedBuffer>()

  /// The parts a pointwise pass shares its K among, one per thread, or nil to share its
  /// positions or panels: for one image of few tiles (a 7 × 7 plane) and few panels, with
  /// at least a K slice per part and at least 3 times as many input channels as output
  /// channels (a projection). Sharing positions, each thread would read every weight (the
  /// pass reads more weight than input) and 7 tiles cannot balance two threads; parts of K
  /// each read their own weights, and then the partial sums cross from core to core: worth
  /// it when they are small beside the weights (1152 → 192 on 7 × 7: 0.91× time; 440 →
  /// 440: 1.13×).
  private func kParts(threads: Int) -> Int? {
    guard geometry.batch == 1, threads > 1, tiles < 4 * threads, panels < 4 * threads,
      inBlocks >= threads * Self.sliceBlocks, inBlocks >= 3 * outBlocks
    else { return nil }
    return threads
  }

  private let partialPool = ScratchPool<AlignedBuffer>()

  /// The 7-position tiles of a pointwise pass that cover one image's positions.
  private var tiles: Int {
    (positions + Int(GC_BLOCKED_POINTWISE_MR) - 1) / Int(GC_BLOCKED_POINTWISE_MR)
  }

  /// A pointwise pass of one image whose K is shared by `parts` threads: part 0 sums its
  /// input blocks into y (from the bias, and y when `adding`), each other part into a
  /// partial sum of its own; then y = f(clamp(y + the partial sums)).
  private func forwardSharingK(
    parts: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
    weights: UnsafePointer<Float>, clamp: UnsafePointer<Float>?,
    activation: gc_activation_kind?, adding: Bool
  ) {
    let count = outBlocks * positions * BlockedLayout.lanes
    let partials = partialPool.take(parts - 1) { AlignedBuffer(count: count) }
    defer { partialPool.give(partials) }
    Threads.forEachItem(parts, threads: parts) { _, part in
      let target = unsafe part == 0 ? y : partials[part - 1].pointer
      for panel in 0..<self.panels {
        unsafe self.runPointwise(
          positions: 0..<self.positions, panel: panel,
          inputBlocks: (self.inBlocks * part / parts)..<(self.inBlocks * (part + 1) / parts),
          x: x, y: target, weights: weights, adding: part == 0 && adding, finish: nil)
      }
    }
    let act = activation.map { Int32($0.rawValue) } ?? -1
    for (index, partial) in partials.enumerated() {
      let last = index == partials.count - 1
      unsafe gc_blocked_add_finish(
        y, partial.pointer, 0, Int64(count), last ? clamp : nil, last ? act : -1)
    }
  }

  /// One pointwise panel at positions `range` of one image (x, y: the image's), over input
  /// blocks `inputBlocks`: y = the bias (when the blocks start at 0, else 0) + y (when
  /// `adding`) + the blocks' sums, finished with `finish` (clamp, activation) unless nil.
  /// K runs in slices whose rows of the panel stay in L1 while the tiles of a piece of the
  /// range read them, the piece's sums staying in L1 too; later slices add to the sums in y,
  /// the last one finishes them. `strides`: the floats from one block to the next in x and
  /// in y, when not those of the whole plane (a band of rows held apart).
  func runPointwise(
    positions range: Range<Int>, panel: Int, inputBlocks: Range<Int>, x: UnsafePointer<Float>,
    y: UnsafeMutablePointer<Float>, weights: UnsafePointer<Float>, adding: Bool,
    finish: (clamp: UnsafePointer<Float>?, activation: Int32)?,
    strides: (x: Int, y: Int)? = nil
  ) {
    let lanes = BlockedLayout.lanes
    let (xStride, yStride) = strides ?? (positions * lanes, positions * lanes)
    let width = Int(GC_BLOCKED_POINTWISE_BLOCKS)
    let k = inBlocks * lanes
    let piece = Self.pieceTiles * Int(GC_BLOCKED_POINTWISE_MR)
    for start in stride(from: range.lowerBound, to: range.upperBound, by: piece) {
      var first = inputBlocks.lowerBound
      while first < inputBlocks.upperBound {
        let count = min(Self.sliceBlocks, inputBlocks.upperBound - first)
        let last = first + count == inputBlocks.upperBound
        // The input's last block may be partly channels, partly zero lanes.
        let lastLanes =
          first + count == inBlocks ? geometry.xChannels - (inBlocks - 1) * lanes : lanes
        // The weights that follow: the next slice, or the next panel's first; no more rows
        // than this slice's, the next slice's or the weights' own (none after the last
        // panel's last slice).
        let nextSlice = (panel * k + (first + count) * lanes) * width * lanes
        var nextRows = min(count * lanes, (self.weights.count - nextSlice) / (width * lanes))
        if !last { nextRows = min(nextRows, (inputBlocks.upperBound - first - count) * lanes) }
        var args = unsafe gc_blocked_pointwise_args(
          x: x + first * xStride, block_stride: Int64(xStride), y_block_stride: Int64(yStride),
          in_blocks: Int64(count), last_lanes: Int32(lastLanes),
          w: weights + (panel * k + first * lanes) * width * lanes,
          bias: first == 0 ? bias.pointer + panel * width * lanes : zeros.pointer,
          y: y + panel * width * yStride, p_begin: Int64(start),
          p_end: Int64(min(range.upperBound, start + piece)),
          blocks: Int32(min(width, outBlocks - panel * width)),
          add: adding || first > inputBlocks.lowerBound ? 1 : 0,
          clamp: last ? finish?.clamp : nil, activation: last ? finish?.activation ?? -1 : -1,
          next_w: nextRows > 0 ? weights + nextSlice : nil, next_rows: Int64(nextRows))
        unsafe gc_blocked_pointwise(&args)
        first += count
      }
    }
  }

  /// The input positions a strided 1×1 convolution reads, as a blocked x of the output's
  /// plane.
  private func subsample(
    _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let lanes = BlockedLayout.lanes
    let g = geometry
    let (inH, inW, outH, outW) = (g.xSize[0], g.xSize[1], g.ySize[0], g.ySize[1])
    BlockedLayout.forEachPiece(
      images: g.batch, ranges: 1, count: outH, blocks: inBlocks, shares: threads, threads: threads
    ) { _, image, _, blocks in
      for block in blocks {
        let plane = image * self.inBlocks + block
        let source = unsafe x + plane * inH * inW * lanes
        let target = unsafe y + plane * self.positions * lanes
        for oy in 0..<outH {
          for ox in 0..<outW {
            unsafe (target + (oy * outW + ox) * lanes).update(
              from: source + (oy * g.stride[0] * inW + ox * g.stride[1]) * lanes, count: lanes)
          }
        }
      }
    }
  }

  /// Output columns per dense tile at most. With AVX-512, 7: tiles of 4 blocks spill 3 of
  /// their 28 accumulators on every k, yet measured faster than tiles of 6, which stage more
  /// columns per output (the 3 × 3 layers of SqueezeNet: 1.00–1.06×). Otherwise 6: the
  /// kernel runs a block at a time there, and 6 positions of one block (12 ymm accumulators)
  /// fit AVX2's 16 registers with the block's two weight vectors and a broadcast.
  /// Fixed at creation, as the stage buffers' size depends on it.
  private let tileWidth = Machine.usesAVX512 ? Int(GC_BLOCKED_POINTWISE_MR) : 6
  /// Staged input columns of a dense tile.
  private var stageColumns: Int {
    (tileWidth - 1) * geometry.stride[1] + (geometry.kernel[1] - 1) * geometry.dilation[1] + 1
  }
  /// Input blocks of a dense convolution's group (of the whole input, for one group).
  private var groupInBlocks: Int { inBlocks / denseGroups }
  /// Floats of a dense tile's staged input: one group's.
  private var stageCount: Int {
    groupInBlocks * geometry.kernel[0] * stageColumns * BlockedLayout.lanes
  }
  private let stagePool = ScratchPool<AlignedBuffer>()

  /// Floats of the stage `forwardGroup` needs.
  var groupStageCount: Int { stageCount }

  /// The dense passes of group `group` of one image over output rows `rows`, on one thread:
  /// x the group's input blocks alone (`inBlocks / denseGroups` of them; only the rows
  /// those rows read are), y its output blocks alone; `bias` as in `forward`; `stage`
  /// `groupStageCount` floats.
  func forwardGroup(
    _ group: Int, rows: Range<Int>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
    bias: UnsafePointer<Float>, stage: UnsafeMutablePointer<Float>,
    clamp: UnsafePointer<Float>?, activation: gc_activation_kind?, adding: Bool
  ) {
    precondition(kind == .dense && !planes, "a dense pass of blocked input")
    let groupPanels = panels / denseGroups
    unsafe runDense(
      image: 0, rows: rows,
      panels: group * groupPanels..<(group + 1) * groupPanels, x: x, y: y,
      weights: weights.pointer, bias: bias, stage: stage, clamp: clamp,
      activation: activation, adding: adding, groupAlone: true)
  }

  /// A dense convolution's output rows `rows` for the panels `panels`: per tile of up to
  /// `tileWidth` positions of a row, its group's input read where it lies when the tile reads
  /// only inside the input, else staged once for all of the group's panels. With
  /// `groupAlone`, x and y hold the panels' group's blocks alone.
  private func runDense(
    image: Int, rows: Range<Int>, panels: Range<Int>, x: UnsafePointer<Float>,
    y: UnsafeMutablePointer<Float>, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    stage: UnsafeMutablePointer<Float>, clamp: UnsafePointer<Float>?,
    activation: gc_activation_kind?, adding: Bool, groupAlone: Bool = false
  ) {
    let lanes = BlockedLayout.lanes
    let g = geometry
    let (inH, inW, outW) = (g.xSize[0], g.xSize[1], g.ySize[1])
    let (cin, kh, kw) = (g.xChannels, g.kernel[0], g.kernel[1])
    let xImage = unsafe x + image * (planes ? cin : inBlocks * lanes) * inH * inW
    let yImage = unsafe y + image * outBlocks * lanes * positions
    let width = Int(GC_BLOCKED_POINTWISE_BLOCKS)
    let rowLanes = planes ? cin : lanes
    let groupBlocks = groupInBlocks
    let k = groupBlocks * kh * kw * rowLanes
    // Per group: its panels, and its output blocks.
    let groupPanels = self.panels / denseGroups
    let groupOutBlocks = outBlocks / denseGroups
    let columns = stageColumns
    // The fewest tiles that cover a row, as even as they go (56 columns at most 6 a tile:
    // 6 of 6 and 4 of 5, not 9 of 6 and one of 2, whose few accumulators wait on each FMA).
    let tiles = (outW + tileWidth - 1) / tileWidth
    for oy in rows {
      let row0 = oy * g.stride[0] - g.padBegin[0]
      for tile in 0..<tiles {
        let ox = outW * tile / tiles
        let n = outW * (tile + 1) / tiles - ox
        let column0 = ox * g.stride[1] - g.padBegin[1]
        // Rows the tile reads all inside the input are read where they are.
        let inside =
          row0 >= 0 && row0 + (kh - 1) * g.dilation[0] < inH && column0 >= 0
          && column0 + (n - 1) * g.stride[1] + (kw - 1) * g.dilation[1] < inW
        var args = unsafe gc_blocked_dense_args(
          source: stage, blocks_in: Int64(groupBlocks), kernel_h: Int64(kh),
          block_stride_in: Int64(kh * columns * lanes), row_stride: Int64(columns * lanes),
          column_stride: Int64(lanes), lane_stride: 1, lanes: Int32(rowLanes),
          kernel_w: Int64(kw), stride_w: Int64(g.stride[1]), dilation_w: Int64(g.dilation[1]),
          w: weights, bias: bias, y: yImage, block_stride: Int64(positions * lanes),
          n: Int32(n), blocks: 0, add: adding ? 1 : 0, clamp: clamp,
          activation: activation.map { Int32($0.rawValue) } ?? -1)
        if inside && planes {
          unsafe args.source = xImage + row0 * inW + column0
          unsafe args.row_stride = Int64(g.dilation[0] * inW)
          unsafe args.column_stride = 1
          unsafe args.lane_stride = Int64(inH * inW)
        } else if inside {
          unsafe args.block_stride_in = Int64(inH * inW * lanes)
          unsafe args.row_stride = Int64(g.dilation[0] * inW * lanes)
        }
        var staged = -1
        for panel in panels {
          let (group, groupPanel) = panel.quotientAndRemainder(dividingBy: groupPanels)
          // The group's place among x's and y's blocks.
          let placed = groupAlone ? 0 : group
          if inside && !planes {
            unsafe args.source =
              xImage + (placed * groupBlocks * inH * inW + row0 * inW + column0) * lanes
          } else if !inside && group != staged {
            unsafe gc_blocked_stage(
              xImage + placed * groupBlocks * inH * inW * lanes,
              Int64(planes ? cin : groupBlocks), Int64(inH), Int64(inW), Int64(row0), Int64(kh),
              Int64(g.dilation[0]), Int64(column0), Int64(columns), planes ? 1 : 0, stage)
            staged = group
          }
          let firstBlock = placed * groupOutBlocks + groupPanel * width
          unsafe args.w = weights + panel * k * width * lanes
          unsafe args.bias = bias + panel * width * lanes
          unsafe args.y = yImage + (firstBlock * positions + oy * outW + ox) * lanes
          unsafe args.blocks = Int32(min(width, groupOutBlocks - groupPanel * width))
          unsafe gc_blocked_dense(&args)
        }
      }
    }
  }

  /// One block of a grouped pass, output rows `rows` of one image: x the image's input
  /// blocks, `xStride` floats apart, of `inputRows` rows (those from x on: a band of rows
  /// starts at its first, with the padding above it grown by as many); y the block's output
  /// plane, at row 0 of `rows`' numbering.
  func runGrouped(
    block: Int, rows: Range<Int>, x: UnsafePointer<Float>, xStride: Int, inputRows: Int,
    padTop: Int, y: UnsafeMutablePointer<Float>, weights: UnsafePointer<Float>,
    clamp: UnsafePointer<Float>?, activation: Int32, adding: Bool
  ) {
    guard case .grouped(let width) = kind else { preconditionFailure("a grouped pass") }
    let lanes = BlockedLayout.lanes
    let g = geometry
    let taps = g.kernel[0] * g.kernel[1]
    // The group's first input block: the output's own unless a group spans blocks.
    let groupBlocks = max(1, width / lanes)
    var args = unsafe gc_blocked_depthwise_args(
      x: x + block / groupBlocks * groupBlocks * xStride, y: y,
      in_h: Int64(inputRows), in_w: Int64(g.xSize[1]), out_w: Int64(g.ySize[1]),
      row_begin: Int64(rows.lowerBound), row_end: Int64(rows.upperBound),
      w: weights + block * taps * width * lanes, bias: bias.pointer + block * lanes,
      kernel_h: Int64(g.kernel[0]), kernel_w: Int64(g.kernel[1]),
      stride_h: Int64(g.stride[0]), stride_w: Int64(g.stride[1]),
      dilation_h: Int64(g.dilation[0]), dilation_w: Int64(g.dilation[1]),
      pad_top: Int64(padTop), pad_left: Int64(g.padBegin[1]),
      group_width: Int32(width), add: adding ? 1 : 0, clamp: clamp, activation: activation)
    unsafe gc_blocked_depthwise(&args)
  }

  private func run(
    image: Int, part: Range<Int>, panel: Int, x: UnsafePointer<Float>,
    y: UnsafeMutablePointer<Float>, weights: UnsafePointer<Float>, clamp: UnsafePointer<Float>?,
    activation: gc_activation_kind?, adding: Bool
  ) {
    let lanes = BlockedLayout.lanes
    let g = geometry
    let act = activation.map { Int32($0.rawValue) } ?? -1
    // A pointwise pass reads x at the output's positions (a strided one, its subsample).
    let xPositions = kind == .pointwise ? positions : g.xSize.reduce(1, *)
    let xImage = unsafe x + image * inBlocks * lanes * xPositions
    let yImage = unsafe y + image * outBlocks * lanes * positions
    switch kind {
    case .pointwise:
      // Ranges of as even a number of positions as can be (the C loop evens out its tiles).
      unsafe runPointwise(
        positions: part,
        panel: panel, inputBlocks: 0..<inBlocks, x: xImage, y: yImage, weights: weights,
        adding: adding, finish: (clamp, act))
    case .grouped:
      unsafe runGrouped(
        block: panel, rows: part,
        x: xImage, xStride: xPositions * lanes, inputRows: g.xSize[0], padTop: g.padBegin[0],
        y: yImage + panel * positions * lanes, weights: weights, clamp: clamp, activation: act,
        adding: adding)
    case .dense:
      preconditionFailure("dense passes run by tiles (runDense)")
    }
  }
}
